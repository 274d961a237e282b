/* CSV output (csv.h). */
#include "csv.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void cli_csv_begin(cli_csv *csv, FILE *out)
{
    csv->out = out;
    csv->col = 0;
    fputs("\xEF\xBB\xBF", out);
}

void cli_csv_field(cli_csv *csv, const char *s)
{
    if (csv->col++)
        fputc(',', csv->out);
    if (!s)
        return;
    bool quote = strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' || s[0] == '\t';
    if (!quote) {
        fputs(s, csv->out);
        return;
    }
    fputc('"', csv->out);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', csv->out);
        fputc(*p, csv->out);
    }
    fputc('"', csv->out);
}

void cli_csv_json(cli_csv *csv, const json_t *v)
{
    if (!v || json_is_null(v)) {
        cli_csv_field(csv, NULL);
    } else if (json_is_string(v)) {
        cli_csv_field(csv, json_string_value(v));
    } else if (json_is_true(v) || json_is_false(v)) {
        cli_csv_field(csv, json_is_true(v) ? "true" : "false");
    } else {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        cli_csv_field(csv, s);
        free(s);
    }
}

void cli_csv_end_row(cli_csv *csv)
{
    fputs("\r\n", csv->out);
    csv->col = 0;
}

const char *cli_heading(const char *ctx_msgid)
{
    const char *t = gettext(ctx_msgid);
    return t == ctx_msgid ? strchr(ctx_msgid, '\004') + 1 : t;
}

int cli_csv_record_header(cli_csv *csv, FILE *out, const pg_collection *coll)
{
    bool titles = cli_i18n_chinese();
    cli_csv_begin(csv, out);
    cli_csv_field(csv, titles ? CLI_HEADING("report", "record id") : "id");
    for (size_t f = 0; f <= coll->nfields; f++) {
        const pg_field *fd = pg_collection_field_at(coll, f);
        cli_csv_field(csv, titles ? fd->title : fd->name);
    }
    cli_csv_end_row(csv);
    return 0;
}

void cli_csv_record(cli_csv *csv, const pg_record *rec)
{
    cli_csv_field(csv, rec->id);
    for (size_t f = 0; f < rec->nvalues; f++) {
        const pg_field *fd = pg_collection_field_at(rec->coll, f);
        json_t *v = cli_value_json(fd, &rec->values[f]);
        cli_csv_json(csv, v);
        json_decref(v);
    }
    cli_csv_end_row(csv);
}

/*
 * CSV output for spreadsheets (RFC 4180): UTF-8 with a byte-order mark so
 * that Excel reads it as UTF-8, CRLF line ends, and a field quoted when it
 * holds a comma, a double quote, CR or LF (its quotes doubled).  A field
 * that starts with a space or a tab is quoted too, so no reader trims it.
 */
#ifndef PINGAN_CLI_CSV_H
#define PINGAN_CLI_CSV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "i18n.h"
#include "pingan/record.h"

/* The help of `--csv` of `pingan record list`.  The header row is the
 * field names, or the fields' Chinese titles when messages are in Chinese:
 * the sheet is read by people in the office's language; scripts use
 * --json (or LANG=C), whose keys never change. */
#define CLI_CSV_OPTION_HELP                                                    \
    N_("print CSV for Excel (UTF-8 with BOM); headings in Chinese in a "       \
       "Chinese locale")

typedef struct cli_csv {
    FILE *out;
    size_t col; /* fields written on the current row */
} cli_csv;

/* Start a CSV document on out: the byte-order mark EF BB BF. */
void cli_csv_begin(cli_csv *csv, FILE *out);

/* One field of the current row (NULL writes an empty field). */
void cli_csv_field(cli_csv *csv, const char *s);

/* A field from a JSON scalar as --json prints it: strings as they are,
 * numbers as JSON writes them, true/false, null as an empty field. */
void cli_csv_json(cli_csv *csv, const json_t *v);

/*
 * A heading of a table or sheet, translated in the message context
 * "report" (msgctxt), so that a one-word heading ("count", "status") never
 * meets the same word translated otherwise elsewhere in the catalog.  Use
 * through CLI_HEADING("report", "text"), which xgettext reads with its
 * context (tests/i18n/catalog.sh).
 */
const char *cli_heading(const char *ctx_msgid);
#define CLI_HEADING(ctx, s) cli_heading(ctx "\004" s)

/* Start CSV for the records of coll: the byte-order mark and the header
 * row (id, every field and _deleted, as in --json): field names, or the
 * fields' titles when messages are in Chinese.  Returns 0. */
int cli_csv_record_header(cli_csv *csv, FILE *out, const pg_collection *coll);

/* One record as a row: each value as --json prints it. */
void cli_csv_record(cli_csv *csv, const pg_record *rec);

/* End the current row (CRLF). */
void cli_csv_end_row(cli_csv *csv);

#endif

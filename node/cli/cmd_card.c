/* pingan card [--out FILE] | pingan card verify FILE */
#include "cli.h"
#include "i18n.h"
#include "pingan/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CARD_FILE_MAX 8192

typedef struct card_opts {
    const char *out;
    bool json;
} card_opts;

static const cli_option card_options[] = {
    {"out", required_argument, 'o', N_("FILE"), N_("write the card to FILE")},
    {"json", no_argument, 'j', NULL,
     N_("with verify: print the result as JSON")},
    {NULL, 0, 0, NULL, NULL},
};

static const cli_command card_cmd = {
    "card", N_("[--out FILE] | verify FILE [--json]"),
    N_("Print this node's card (code, name, tier, public keys, "
       "self-signature) or\nwrite it to FILE; 'card verify FILE' checks a card "
       "from another node."),
    N_("A card holds no secret.  Give it to the administrators of the nodes "
       "this node\nwill link to; they pin it with 'pingan peer add'."),
    card_options};

static int card_handle(int val, const char *arg, void *payload)
{
    card_opts *o = payload;
    if (val == 'o')
        o->out = arg;
    if (val == 'j')
        o->json = true;
    return 0;
}

static int card_verify(const char *path, bool json)
{
    char buf[CARD_FILE_MAX + 1];
    pg_card card;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, _("pingan: cannot read %s: %s\n"), path,
                strerror(errno));
        return 2;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n > CARD_FILE_MAX) {
        fprintf(stderr, _("pingan: %s is not a card (larger than %d bytes)\n"),
                path, CARD_FILE_MAX);
        return 2;
    }
    int error = pg_card_from_json(&card, buf, n);
    if (error < 0) {
        if (json)
            cli_print_json(json_pack("{s:b, s:s}", "valid", 0, "error",
                                     pg_error_last()->message));
        fprintf(stderr, _("pingan: %s: %s\n"), path, pg_error_last()->message);
        return 2;
    }
    if (json)
        cli_print_json(json_pack(
            "{s:b, s:s, s:s, s:s, s:s}", "valid", 1, "code", card.code, "name",
            card.name, "tier", pg_tier_name(card.tier), "key_id", card.key_id));
    else
        printf(_("card OK: %s %s (%s), key id %s\n"), card.code, card.name,
               cli_tier_label(card.tier), card.key_id);
    return 0;
}

int cmd_card(int argc, char **argv)
{
    card_opts o = {0};
    pg_node *node = NULL;
    char *json = NULL;
    int rc, error, status = 0;

    if ((rc = cli_parse(argc, argv, &card_cmd, card_handle, &o)) != 0)
        return rc > 0 ? 0 : 2;
    if (optind < argc && strcmp(argv[optind], "verify") == 0) {
        if (argc - optind != 2)
            return cli_usage(&card_cmd, "card verify takes one FILE");
        return card_verify(argv[optind + 1], o.json);
    }
    if (optind < argc)
        return cli_usage(&card_cmd, "unexpected argument '%s'", argv[optind]);
    if ((error = cli_open_node(&node)) < 0)
        return cli_fail(error);
    json = pg_card_to_json(pg_node_card(node));
    if (!json) {
        status = cli_fail(PG_ENOMEM);
        goto done;
    }
    if (!o.out) {
        fputs(json, stdout);
        goto done;
    }
    int fd = open(o.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(json);
    if (fd < 0 || write(fd, json, len) != (ssize_t)len || close(fd) < 0) {
        fprintf(stderr, _("pingan: cannot write %s: %s\n"), o.out,
                strerror(errno));
        status = 1;
        goto done;
    }
    fprintf(stderr, _("wrote the card of %s %s to %s\n"), pg_node_code(node),
            pg_node_name(node), o.out);

done:
    free(json);
    pg_node_free(node);
    return status;
}

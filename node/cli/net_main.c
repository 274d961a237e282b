/*
 * pingan-net: `pingan sync` and `pingan serve`, which `pingan` runs from
 * its own directory.  Kept apart so that libcurl and libmicrohttpd, and
 * what they pull in, are loaded only by the commands that use the network.
 */
#include "cli.h"
#include "i18n.h"
#include "pingan/crypto.h"
#include "pingan/error.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    cli_i18n_init();
    if (cli_start(&argc, argv) < 0)
        return 2;
    if (argc >= 2 && pg_crypto_init() < 0)
        return cli_fail(PG_ERROR);
    /* Before any thread starts (serve --sync-every runs syncs in one). */
    if (argc >= 2 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s", _("pingan: cannot start libcurl\n"));
        return 1;
    }
    if (argc >= 2 && strcmp(argv[1], "sync") == 0)
        return cmd_sync(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "audit-fetch-heads") == 0)
        return cmd_audit_fetch(argc - 1, argv + 1);
    fprintf(stderr, "%s",
            _("pingan-net runs 'pingan sync' and 'pingan serve' for "
              "pingan; run those through pingan\n"));
    return 2;
}

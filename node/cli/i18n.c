/*
 * Locale set-up for the `pingan` command: see i18n.h.
 */
#include "i18n.h"

#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PINGAN_LOCALEDIR
#define PINGAN_LOCALEDIR "/usr/local/share/locale"
#endif

/* locale/ beside this program, when it exists (the build tree). */
static bool i18n_beside_program(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return false;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return false;
    *slash = '\0';
    struct stat st;
    int len = snprintf(out, cap, "%s/locale", self);
    return len > 0 && (size_t)len < cap && stat(out, &st) == 0 &&
           S_ISDIR(st.st_mode);
}

void cli_i18n_init(void)
{
    char dir[PATH_MAX];
    const char *env = getenv("PINGAN_LOCALEDIR");

    /* A locale the system lacks leaves "C": English, and no error. */
    (void)setlocale(LC_ALL, "");
    const char *where = PINGAN_LOCALEDIR;
    if (env && *env)
        where = env;
    else if (i18n_beside_program(dir, sizeof(dir)))
        where = dir;
    /* The command's domain, and the library's (node/i18n_internal.h). */
    static const char *const domains[] = {PINGAN_TEXTDOMAIN, "libpingan"};
    for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
        (void)bindtextdomain(domains[i], where);
        (void)bind_textdomain_codeset(domains[i], "UTF-8");
    }
    (void)textdomain(PINGAN_TEXTDOMAIN);
}

bool cli_i18n_chinese(void)
{
    const char *m = setlocale(LC_MESSAGES, NULL);
    return m && strncmp(m, "zh", 2) == 0;
}

/*
 * Translation of the `pingan` command's messages, help and headings with
 * GNU gettext.  Text domain "pingan"; the catalogs are the fragments
 * po/pingan/<lang>/ (one .po each), compiled at build time into
 * <build>/locale/<lang>/LC_MESSAGES/pingan.mo (po/CMakeLists.txt).
 *
 *   _("text")   translate now
 *   N_("text")  mark for extraction only (option tables, static arrays);
 *               translate at the point of use with _()
 *
 * English is the source language.  Chinese whenever the locale is Chinese
 * (LANG=zh_CN.UTF-8), English otherwise.
 */
#ifndef PINGAN_CLI_I18N_H
#define PINGAN_CLI_I18N_H

#include <libintl.h>
#include <stdbool.h>

#define PINGAN_TEXTDOMAIN "pingan"

#define _(s)  gettext(s)
#define N_(s) (s)

/*
 * Set the locale from the environment and bind the "pingan" domain: to
 * $PINGAN_LOCALEDIR if set, else to locale/ beside this program (the build
 * tree), else to the installed locale directory.
 */
void cli_i18n_init(void);

/* True when messages are shown in Chinese (the catalog is in use). */
bool cli_i18n_chinese(void);

#endif

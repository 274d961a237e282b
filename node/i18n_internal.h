/*
 * Translation of the library's own messages (GNU gettext, text domain
 * "libpingan"; catalogs po/libpingan/<lang>/).  The program using the
 * library binds the domain (node/cli/i18n.c); unbound, every message is
 * the English it is written in.
 *
 *   PG_("text")   translate now
 *   PG_N_("text") mark for extraction only; translate at use with PG_()
 */
#ifndef PINGAN_I18N_INTERNAL_H
#define PINGAN_I18N_INTERNAL_H

#include <libintl.h>

#define PG_TEXTDOMAIN "libpingan"

#define PG_(s)   dgettext(PG_TEXTDOMAIN, s)
#define PG_N_(s) (s)

#endif

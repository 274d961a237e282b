/**
 * @file pingan/error.h
 * @brief Error codes and the thread-local last-error message.
 *
 * Every fallible function returns an int: 0 on success, a negative
 * pg_error_code on failure.  The function that detects a failure sets a
 * one-line message with pg_error_set(); callers propagate the code
 * unchanged and read the message with pg_error_last().  Codes are
 * append-only: never renumber, never reuse.
 *
 * A message exists twice: in English (pg_error.message), the text that is
 * stored (quarantine reasons, rejected bundles, the audit trail) and sent
 * to peers, which is the same whoever ran the command in whatever locale;
 * and in the language of the calling process's locale
 * (pg_error_last_localized()), formatted from the translated format
 * (text domain "libpingan"), for display only.
 */
#ifndef PINGAN_ERROR_H
#define PINGAN_ERROR_H

#include <assert.h>

/** Error codes.  Values are pinned. */
typedef enum pg_error_code {
    PG_OK = 0,
    PG_ERROR = -1,     /**< generic runtime failure */
    PG_ENOTFOUND = -2, /**< object does not exist */
    PG_EEXISTS = -3,   /**< object already exists */
    PG_EINVALID = -4,  /**< bad input (rejected, nothing changed) */
    PG_EAUTH = -5,     /**< bad signature, unknown key */
    PG_EPOLICY = -6,   /**< forbidden by jurisdiction or policy */
    PG_ECONFLICT = -7, /**< conflicting state */
    PG_EBUSY = -8,     /**< store locked by another process */
    PG_ECORRUPT = -9,  /**< damaged store, key or file */
    PG_ELIMIT = -10,   /**< a size or count limit was exceeded */
    PG_ENOMEM = -11,   /**< out of memory */
    PG_EUPGRADE = -12, /**< made by a newer, unknown version */
    PG_ENET = -13,     /**< the network failed: worth retrying later */
} pg_error_code;

/** Where an error was detected (shown in traces, not to end users). */
typedef enum pg_error_class {
    PG_ERRCLASS_NONE = 0,
    PG_ERRCLASS_OS,
    PG_ERRCLASS_NOMEMORY,
    PG_ERRCLASS_INVALID,
    PG_ERRCLASS_STORE,
    PG_ERRCLASS_SCHEMA,
    PG_ERRCLASS_CRYPTO,
    PG_ERRCLASS_TXN,
    PG_ERRCLASS_NODE,
    PG_ERRCLASS_CODEC,
    PG_ERRCLASS_BUNDLE,
    PG_ERRCLASS_NET,
} pg_error_class;

/** The last error of the calling thread. */
typedef struct pg_error {
    int code;             /**< a pg_error_code */
    pg_error_class klass; /**< where it was detected */
    char message[512];    /**< one line in English, never key material:
                               the text to store or send */
    char localized[512];  /**< the same message in the locale's language,
                               for display only (English when untranslated) */
} pg_error;

/**
 * Record an error for the calling thread and return @p code.
 *
 * @param code  the negative pg_error_code to store and return
 * @param klass where the error was detected
 * @param fmt   printf-style one-line message naming the bad value; a
 *              control character in the result (from a value) becomes '?'
 * @return @p code, so callers may write `return pg_error_set(...)`
 */
int pg_error_set(int code, pg_error_class klass, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * The calling thread's last error.
 *
 * @return a borrowed pointer, valid until the thread's next pg_error_*
 * call; its code is PG_OK when no error was recorded.
 */
const pg_error *pg_error_last(void);

/**
 * The calling thread's last error message in the language of the locale
 * (LC_MESSAGES; catalog of text domain "libpingan", bound by the program),
 * for showing to the person who ran the command.  Never store or send it:
 * use pg_error_last()->message, which is English.
 *
 * @return a borrowed string, valid until the thread's next pg_error_* call;
 * the English message when there is no translation; "" when no error was
 * recorded.
 */
const char *pg_error_last_localized(void);

/** Forget the calling thread's last error. */
void pg_error_clear(void);

/**
 * A short English name of an error code ("invalid input", "busy", ...).
 *
 * @return a static string
 */
const char *pg_error_name(int code);

/**
 * Map an error code to the command-line exit code: 0 ok, 1 runtime
 * failure, 2 bad usage or rejected input.
 */
int pg_error_exit_code(int code);

/**
 * Assert a public entry point's argument: aborts in debug builds, and in
 * release builds records PG_EINVALID and returns it.
 */
#ifdef NDEBUG
#define PG_ASSERT_ARG(x)                                                       \
    do {                                                                       \
        if (!(x))                                                              \
            return pg_error_set(PG_EINVALID, PG_ERRCLASS_INVALID,              \
                                "invalid argument: %s", #x);                   \
    } while (0)
#else
#define PG_ASSERT_ARG(x) assert(x)
#endif

#endif

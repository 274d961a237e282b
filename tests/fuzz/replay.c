/*
 * Replay driver: feeds every file named on the command line (a directory:
 * every regular file in it, in name order) to LLVMFuzzerTestOneInput, as
 * libFuzzer would, without needing libFuzzer.  ctest runs each target so
 * over its corpus (fuzz.<target>) in every build.
 */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    pg_buf data;
    uint8_t chunk[65536];
    size_t n;

    if (!f) {
        perror(path);
        return -1;
    }
    pg_buf_init(&data, PG_BUF_DEFAULT_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (pg_buf_put(&data, chunk, n) < 0) {
            fprintf(stderr, "%s: too large\n", path);
            fclose(f);
            pg_buf_dispose(&data);
            return -1;
        }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        perror(path);
        pg_buf_dispose(&data);
        return -1;
    }
    /* A copy of exactly its bytes, so that ASan sees any read past it. */
    uint8_t *exact = malloc(data.len ? data.len : 1);
    if (!exact) {
        pg_buf_dispose(&data);
        return -1;
    }
    if (data.len)
        memcpy(exact, data.data, data.len);
    LLVMFuzzerTestOneInput(exact, data.len);
    free(exact);
    pg_buf_dispose(&data);
    return 0;
}

static int no_dot(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static int replay_dir(const char *dir, unsigned *count)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, no_dot, alphasort);
    int rc = 0;

    if (n < 0) {
        perror(dir);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(path) < 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned count = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) < 0
                                : (replay_file(argv[i]) < 0 || !++count))
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "%s: no input to replay\n", argv[0]);
        return 1;
    }
    printf("replayed %u inputs\n", count);
    return 0;
}

/* A journey store in a fresh folder for each test, shared by the journey test files. */
#ifndef BALIE_TEST_JOURNEY_FIXTURE_H
#define BALIE_TEST_JOURNEY_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "balie/journey.h"

static char dir[64], path[128];

static inline void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/balie-journey-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/balie.db", dir);
}

static inline void teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static inline struct journey_store *open_store(void)
{
    struct journey_store *st = NULL;
    char why[256] = "";
    int err = journey_store_open(&st, path, why, sizeof(why));
    cr_assert_eq(err, 0, "open: %s", why);
    return st;
}

/* A citizen's session as calls.c would start it. */
static inline void citizen(struct journey_signal *s, const char *pseudonym)
{
    cr_assert_eq(journey_init(s), 0);
    snprintf(s->service, sizeof(s->service), "paspoort");
    snprintf(s->pseudonym, sizeof(s->pseudonym), "%s", pseudonym);
    snprintf(s->loa, sizeof(s->loa), "substantieel");
    snprintf(s->provider, sizeof(s->provider), "dev");
}

#endif

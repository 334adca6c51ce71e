/* Helpers of the journey integration tests (journey_it.c). */
#ifndef BALIE_TEST_JOURNEY_IT_H
#define BALIE_TEST_JOURNEY_IT_H

#include <jansson.h>

#include "harness.h"

#define BSN "999990032" /* passes the 11-test; a test subject, never a real person */

extern struct daemon d; /* the gateway under test */
extern char dir[64];    /* its folder (data in dir/data) */

/* Starts the gateway in a fresh folder with `extra` appended to its config (may be NULL). */
void start(const char *extra);
/* Kills the gateway and removes the folder (a suite's .fini). */
void jit_cleanup(void);
/* The test citizen's signals through the admin API, checked for the subject and the name. */
json_t *signals(void);
/* Runs journey_peers.py SCENARIO [TOKEN]; returns what the peers saw. */
json_t *peers(const char *scenario, const char *token);
/* A string member, or "". */
const char *field(json_t *o, const char *name);

#endif

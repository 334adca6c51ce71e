/* The outbox through the real daemon: sessions end while the webhook is unreachable, the
 * gateway is killed and started again, then the receiver comes up but fails the first
 * attempts: every signal still arrives, exactly one acknowledged delivery per idempotency key,
 * in both formats, with the token from the token file, and the klantinteracties body checked
 * field by field. No request, log line or body holds the subject, the name or the token. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "journey_it.h"

#define TOKEN "webhook-test-token-0123456789abcdef"

static pid_t receiver;

static void stop_receiver(void)
{
    if (receiver > 0) {
        kill(receiver, SIGTERM);
        waitpid(receiver, NULL, 0);
        receiver = 0;
    }
    jit_cleanup();
}

TestSuite(journey_webhook, .fini = stop_receiver);

/* A port nothing listens on yet (the receiver takes it later). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void start_receiver(int port, const char *log, int fail_first)
{
    receiver = fork();
    cr_assert_geq(receiver, 0);
    if (receiver == 0) {
        char p[16], f[16], script[512];
        snprintf(p, sizeof(p), "%d", port);
        snprintf(f, sizeof(f), "%d", fail_first);
        snprintf(script, sizeof(script), "%s/tests/integration/webhook_receiver.py",
                 BALIE_SOURCE_DIR);
        execl("/usr/bin/python3", "python3", script, p, log, f, (char *)NULL);
        _exit(127);
    }
}

/* The receiver's log: one JSON object per request, in order. */
static json_t *received(const char *log)
{
    json_t *list = json_array();
    FILE *f = fopen(log, "r");
    static char line[65536];
    while (f && fgets(line, sizeof(line), f)) {
        json_t *one = json_loads(line, 0, NULL);
        cr_assert_not_null(one, "%s", line);
        json_array_append_new(list, one);
    }
    if (f)
        fclose(f);
    return list;
}

static int accepted(json_t *list)
{
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r) n += json_integer_value(json_object_get(r, "status")) == 201;
    return n;
}

static void run(const char *format)
{
    int port = free_port();
    char extra[1024], token_file[128], log[128];
    strcpy(dir, "/tmp/balie-it-webhook-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(token_file, sizeof(token_file), "%s/webhook.token", dir);
    snprintf(log, sizeof(log), "%s/received.jsonl", dir);
    FILE *f = fopen(token_file, "w");
    fputs(TOKEN "\n", f);
    fclose(f);
    snprintf(extra, sizeof(extra),
             "[journey]\nwebhook_url = \"http://127.0.0.1:%d/hook\"\nwebhook_format = %s\n"
             "webhook_token_file = \"%s\"\nwebhook_retry_max_s = 2\nwebhook_timeout_s = 2\n"
             "[service.paspoort]\nname_nl = \"Paspoort en ID-kaart\"\nname_en = Passport\n",
             port, format, token_file);
    /* start() makes its own folder; keep ours (with the token) by starting by hand. */
    char cfg[2048];
    snprintf(cfg, sizeof(cfg),
             "[general]\ndata_dir = \"%s/data\"\n[media]\nworkers = 1\nport_base = 0\n"
             "[http]\nport = 0\n%s",
             dir, extra);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0, "daemon did not start:\n%s", d.log);

    /* Three sessions while nothing listens. */
    json_decref(peers("abandon", NULL));
    json_decref(peers("noagent", NULL));
    json_decref(peers("bad_answer", NULL));
    sleep(2); /* a few failed attempts */
    daemon_collect_output(&d, 100);
    cr_assert_not_null(strstr(d.log, "webhook delivery failed"), "%s", d.log);

    /* Killed with everything undelivered; the next start must still deliver all of it. */
    cr_assert_eq(daemon_stop(&d, SIGKILL, 2000, NULL), 128 + SIGKILL);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0, "daemon did not restart:\n%s", d.log);
    json_t *stored = signals();
    cr_assert_eq(json_integer_value(json_object_get(stored, "count")), 3);

    start_receiver(port, log, 2);
    json_t *got = NULL;
    for (int i = 0; i < 200; i++) { /* backoff is capped at 2 s: well under 20 s */
        json_decref(got);
        got = received(log);
        if (accepted(got) >= 3)
            break;
        usleep(100 * 1000);
    }
    sleep(3); /* anything sent twice would show up now */
    json_decref(got);
    got = received(log);
    cr_assert_eq(accepted(got), 3, "each signal acknowledged exactly once");
    cr_assert_geq(json_array_size(got), 5, "the first two attempts failed and were retried");

    size_t i;
    json_t *r, *s;
    json_array_foreach(got, i, r)
    {
        cr_assert_str_eq(field(r, "authorization"), "Bearer " TOKEN);
        cr_assert_str_eq(field(r, "path"), "/hook");
        json_t *body = json_object_get(r, "body");
        const char *key = field(r, "key");
        cr_assert_eq(strlen(key), 32);
        if (strcmp(format, "cloudevents") == 0) {
            cr_assert_str_eq(field(r, "type"), "application/cloudevents+json; charset=utf-8");
            cr_assert_str_eq(field(body, "id"), key, "the event id is the idempotency key");
            cr_assert_str_eq(field(body, "specversion"), "1.0");
            cr_assert_str_eq(field(body, "type"), "nl.balie.journey.signal.v1");
        } else {
            cr_assert_str_eq(field(r, "type"), "application/json");
            cr_assert_str_eq(field(json_object_get(body, "metadata"), "id"), key);
            cr_assert_str_eq(field(body, "kanaal"), "video");
            cr_assert_str_eq(field(body, "taal"), "nld");
            cr_assert(json_is_boolean(json_object_get(body, "vertrouwelijk")));
            cr_assert(json_is_false(json_object_get(body, "indicatieContactGelukt")),
                      "none of these sessions reached a conversation");
            cr_assert_eq(strlen(field(body, "plaatsgevondenOp")), 24);
            cr_assert_str_neq(field(body, "inhoud"), "");
            /* The first configured service is paspoort: its Dutch name is the subject. */
            cr_assert_str_eq(field(body, "onderwerp"), "Paspoort en ID-kaart");
        }
    }
    /* Every stored signal arrived, with its outcome. */
    json_array_foreach(json_object_get(stored, "signals"), i, s)
    {
        bool found = false;
        size_t k;
        json_array_foreach(got, k, r)
        {
            json_t *body = json_object_get(r, "body");
            json_t *sig =
                json_object_get(body, strcmp(format, "cloudevents") == 0 ? "data" : "metadata");
            if (json_integer_value(json_object_get(r, "status")) == 201 &&
                strcmp(field(sig, "id"), field(s, "id")) == 0) {
                cr_assert_str_eq(field(sig, "outcome"), field(s, "outcome"));
                found = true;
            }
        }
        cr_assert(found, "signal %s was not delivered", field(s, "id"));
    }
    /* The bodies and signals go to the privacy scan of tests/run-all.sh too. */
    const char *copy = getenv("GATEWAY_LOG_COPY_DIR");
    if (copy && copy[0]) {
        char out[512];
        snprintf(out, sizeof(out), "%s/webhook-%s.json", copy, format);
        json_t *both = json_pack("{s:O, s:O}", "received", got, "stored", stored);
        json_dump_file(both, out, 0);
        json_decref(both);
    }
    char *all = json_dumps(got, 0);
    cr_assert_null(strstr(all, BSN), "a webhook body holds the subject");
    cr_assert_null(strstr(all, "Test Persoon"), "a webhook body holds the name");
    free(all);
    json_decref(got);
    json_decref(stored);
    daemon_collect_output(&d, 100);
    cr_assert_null(strstr(d.log, TOKEN), "the webhook token is never logged");
    cr_assert_null(strstr(d.log, BSN));
}

Test(journey_webhook, klantinteracties_every_signal_once_after_downtime, .timeout = 120)
{
    run("klantinteracties");
}

Test(journey_webhook, cloudevents_every_signal_once_after_downtime, .timeout = 120)
{
    run("cloudevents");
}

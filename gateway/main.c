/* balie-gateway: loads the configuration, starts the media workers and the control thread,
 * and stops gracefully on SIGTERM (drain) or SIGINT (drain, shorter grace). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "balie/config.h"
#include "balie/dtls.h"
#include "balie/holdmedia.h"
#include "balie/log.h"
#include "balie/server.h"
#include "balie/users.h"
#include "balie/worker.h"

extern char **environ;

/* SIGINT is the impatient stop (a developer's Ctrl-C): at most this much grace. */
#define SIGINT_GRACE_S 2

static uint64_t now_ms_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: balie-gateway [--config FILE]\n"
                 "       balie-gateway --check-config FILE\n"
                 "       balie-gateway --version\n"
                 "       balie-gateway [--config FILE] user add|remove|list …  (agents)\n"
                 "\n"
                 "Without --config, the embedded defaults are used (or the file named by\n"
                 "BALIE_CONFIG). Every key can be set with BALIE_<SECTION>_<KEY>; see\n"
                 "docs/configuration.md.\n");
}

static void print_errors(const struct config_errors *errors)
{
    int shown = errors->count < CONFIG_MAX_ERRORS ? errors->count : CONFIG_MAX_ERRORS;
    for (int i = 0; i < shown; i++)
        fprintf(stderr, "balie-gateway: config error: %s\n", errors->messages[i]);
    if (errors->count > shown)
        fprintf(stderr, "balie-gateway: … and %d more errors\n", errors->count - shown);
}

/* Loads defaults, the file (if any) and the environment, then validates. */
static int load_config(struct balie_config *cfg, const char *path, struct config_errors *errors)
{
    config_defaults(cfg);
    if (path)
        config_load_file(cfg, path, errors);
    config_apply_env(cfg, environ, errors);
    if (errors->count == 0)
        config_validate(cfg, errors);
    return errors->count;
}

struct signal_thread {
    sigset_t set;
    struct server *srv;
    int grace_s;
};

/* Signals are blocked in every thread and taken here with sigwait(), so the handler is plain
 * code rather than async-signal context. */
static void *signal_main(void *arg)
{
    struct signal_thread *st = arg;
    for (;;) {
        int sig;
        if (sigwait(&st->set, &sig) != 0)
            continue;
        if (sig == SIGUSR2) /* our own wake-up at exit */
            return NULL;
        int grace = sig == SIGINT && st->grace_s > SIGINT_GRACE_S ? SIGINT_GRACE_S : st->grace_s;
        log_info("main", "%s received", sig == SIGINT ? "SIGINT" : "SIGTERM");
        server_request_stop(st->srv, grace);
    }
}

static void print_urls(const struct balie_config *cfg, int port)
{
    char base[CONFIG_STR_MAX + 32];
    if (cfg->http.public_url[0]) {
        snprintf(base, sizeof(base), "%s", cfg->http.public_url);
        size_t n = strlen(base);
        if (n > 0 && base[n - 1] == '/')
            base[n - 1] = '\0';
    } else {
        const char *host = config_is_loopback(cfg->http.listen) ? "localhost" : cfg->http.listen;
        snprintf(base, sizeof(base), "%s://%s:%d", cfg->http.tls_cert[0] ? "https" : "http", host,
                 port);
    }
    log_info("main", "citizen page: %s/", base);
    log_info("main", "agent console: %s/agent", base);
    /* People starting Balie by hand look at the terminal, not at JSON: say it plainly too. */
    if (isatty(STDERR_FILENO) || getenv("BALIE_PRINT_URLS")) {
        fprintf(stderr,
                "\nBalie is running.\n  Citizen page:  %s/\n  Agent console: %s/agent\n"
                "  Health:        %s/healthz   Metrics: %s/metrics\n\n",
                base, base, base, base);
    }
}

int main(int argc, char **argv)
{
    const char *config_path = getenv("BALIE_CONFIG");
    bool check_only = false;
    int user_argc = -1; /* `user …`: the agents' users file, then exit */
    for (int i = 1; i < argc && user_argc < 0; i++) {
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--check-config") == 0) &&
            i + 1 < argc) {
            check_only = strcmp(argv[i], "--check-config") == 0;
            config_path = argv[++i];
        } else if (strcmp(argv[i], "user") == 0) {
            user_argc = i + 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("balie-gateway %s\n", BALIE_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "balie-gateway: unknown or incomplete argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    static struct balie_config cfg;
    struct config_errors errors = {0};
    if (load_config(&cfg, config_path, &errors) != 0) {
        print_errors(&errors);
        return 2;
    }
    if (user_argc >= 0)
        return users_cli(&cfg, argc - user_argc, argv + user_argc);
    if (check_only) {
        printf("%s: configuration is valid\n", config_path);
        return 0;
    }

    enum log_level level = LOG_LEVEL_INFO;
    (void)log_level_parse(cfg.log.level, &level);
    log_init(level, STDOUT_FILENO);
    log_info("main", "balie-gateway %s starting (environment %s)", BALIE_VERSION,
             cfg.general.environment);

    /* Block the stop signals before any thread exists, so every thread inherits the mask. */
    struct signal_thread st = {.grace_s = cfg.shutdown.grace_s};
    sigemptyset(&st.set);
    sigaddset(&st.set, SIGTERM);
    sigaddset(&st.set, SIGINT);
    sigaddset(&st.set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &st.set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct server *srv = NULL;
    struct worker_pool *pool = NULL;
    struct dtls_identity *dtls = NULL;
    struct holdmedia *hold = NULL;
    int rc = 1;
    /* One certificate for every leg, made at start (DESIGN.md §3); its fingerprint goes into
     * every offer and browsers check it. */
    if (dtls_identity_create(&dtls) != 0) {
        log_error("main", "cannot make the DTLS certificate");
        goto out;
    }
    if (server_create(&srv, &cfg, dtls_identity_fingerprint(dtls)) != 0)
        goto out;

    /* Hold media, encoded once for every worker. Without it a call on hold is only silent. */
    uint64_t hold_t0 = now_ms_monotonic();
    if (holdmedia_create(&hold) != 0)
        log_error("main", "cannot encode the hold media: a call on hold gets silence");
    else
        log_info("main", "hold media ready: %zu bytes of audio, %zu of video, in %llu ms",
                 hold->audio_bytes, hold->video_bytes,
                 (unsigned long long)(now_ms_monotonic() - hold_t0));

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct worker_pool_config wcfg = {
        .count = cfg.media.workers > 0 ? cfg.media.workers : (cores > 0 ? (int)cores : 1),
        .bind = cfg.media.bind,
        .port_base = cfg.media.port_base,
        .socket_buffer_kb = cfg.media.socket_buffer_kb,
        .notify = server_wake,
        .notify_arg = srv,
        .dtls_identity = dtls,
        .hold_media = hold,
    };
    int err = worker_pool_start(&pool, &wcfg);
    if (err != 0) {
        log_error("main", "cannot start %d media workers on %s from UDP port %d: %s", wcfg.count,
                  cfg.media.bind, cfg.media.port_base, strerror(-err));
        goto out;
    }
    server_attach_pool(srv, pool);
    log_info("main", "%d media workers on UDP %s ports %d-%d", wcfg.count, cfg.media.bind,
             worker_pool_port(pool, 0), worker_pool_port(pool, wcfg.count - 1));
    print_urls(&cfg, server_port(srv));

    st.srv = srv;
    pthread_t sig_thread;
    if (pthread_create(&sig_thread, NULL, signal_main, &st) != 0) {
        log_error("main", "cannot start the signal thread");
        goto out;
    }
    rc = server_run(srv);
    pthread_kill(sig_thread, SIGUSR2);
    pthread_join(sig_thread, NULL);
    log_info("main", "stopped");
out:
    server_detach_pool(srv);
    worker_pool_stop(pool);
    server_destroy(srv);
    dtls_identity_free(dtls);
    holdmedia_free(hold);
    return rc;
}

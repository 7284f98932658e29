/* config.h - EBT settings: one table drives the environment, defaults and help text. */
#ifndef EBT_CONFIG_H
#define EBT_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define EBT_MAX_PREFIXES 16
#define EBT_MAX_VIS_OVERRIDES 16
#define EBT_MAX_INPUTS 16

enum ebt_visibility { EBT_VIS_WRITE = 0, EBT_VIS_CLOSE = 1, EBT_VIS_TASK = 2 };
enum ebt_fuse_mode { EBT_FUSE_OFF = 0, EBT_FUSE_AUTO = 1, EBT_FUSE_ON = 2 };
/* How the flush learns and sets PFS file layouts (src/layout). */
enum ebt_layout_mode {
    EBT_LAYOUT_AUTO = 0,
    EBT_LAYOUT_LUSTRE = 1,
    EBT_LAYOUT_LUSTREAPI = 2,
    EBT_LAYOUT_POSIX = 3
};

struct ebt_prefix {
    char path[PATH_MAX];  /* canonical (symlinks resolved when the prefix exists) */
    char alias[PATH_MAX]; /* the spelling the user gave, normalised; "" if the same */
};

struct ebt_vis_override {
    char prefix[PATH_MAX];
    int mode;
};

struct ebt_config {
    struct ebt_prefix prefixes[EBT_MAX_PREFIXES];
    int nprefixes;
    char inputs[EBT_MAX_INPUTS][PATH_MAX]; /* EBT_INPUT_PATHS, canonical: metadata cached */
    int ninputs;
    uint64_t input_cache_bytes; /* node-local copies of input files (0: none); incache.c */
    uint64_t input_file_max;    /* larger input files are read from the PFS */
    int visibility;
    struct ebt_vis_override vis[EBT_MAX_VIS_OVERRIDES];
    int nvis;
    char run_dir[PATH_MAX];
    char cache_dir[PATH_MAX];
    uint64_t cache_bytes; /* 0 = no limit beyond the storage itself */
    char task_id[64];
    int log_level;
    uint64_t log_bytes; /* cap of RUN/ebt.log; 0 = none */
    int flush_threads;
    int stage_threads;    /* ebt stage-in/stage-out (EBT_STAGE_THREADS) */
    uint64_t stage_chunk; /* ... their piece size for large files (EBT_STAGE_CHUNK) */
    int fuse;             /* enum ebt_fuse_mode: the daemon's FUSE view over the prefixes */
    /* multi-node jobs (docs/multinode.md); a one-node job has nodes == 1, node_id == 0 */
    int nodes;
    int node_id;
    char rendezvous[PATH_MAX]; /* shared directory where the job's daemons find each other */
    char job_id[64];
    /* layouts of the files the flush creates (docs/flush.md) */
    int layout;             /* enum ebt_layout_mode */
    uint64_t stripe_large;  /* files of at least this size get stripe_count_large stripes */
    int stripe_count_large; /* -1: all OSTs */
    uint32_t stripe_size;   /* bytes, a multiple of 64 KiB */
    int ost_deal;           /* multi-node flush: deal OSTs to nodes (docs/multinode.md) */
};

/* Check every variable of the table that is set in the environment: 0, or -EINVAL with
 * "NAME='value': reason (what is allowed)" in err. EBT_CHECK_FS also checks the file system
 * (EBT_PATHS and EBT_CACHE_DIR exist and are directories, EBT_LIB/EBT_DAEMON exist); without it
 * only the form is checked (a daemon whose FUSE view died must still load its config). */
#define EBT_CHECK_FS 1
int ebt_config_check_env(int flags, char *err, size_t errcap);
/* Managed prefixes (canonical, absolute): none is '/', none equals or lies inside another.
 * what names them in the message ("EBT_PATHS", "--pfs"). 0 or -EINVAL with the reason. */
int ebt_config_check_prefixes(const char (*paths)[PATH_MAX], int n, char *err, size_t errcap);

/* Input trees (canonical, absolute): none given twice, none inside another, none overlapping
 * the cache directory `cache` (canonical; NULL: not checked). 0 or -EINVAL with the reason. */
int ebt_config_check_inputs(const char (*paths)[PATH_MAX], int n, const char *cache, char *err,
                            size_t errcap);

/* Fill cfg from the environment (ebt_config_check_env first, without EBT_CHECK_FS). On a bad
 * value: -EINVAL and a one-line reason in err. */
int ebt_config_load(struct ebt_config *cfg, char *err, size_t errcap);
/* Parse a visibility spec "MODE[,PREFIX=MODE...]" into cfg. */
int ebt_config_parse_visibility(struct ebt_config *cfg, const char *spec, char *err, size_t cap);
/* Parse "123", "4K", "2G" ... ; -EINVAL on anything else. */
int ebt_parse_size(const char *s, uint64_t *out);
const char *ebt_visibility_name(int mode);
int ebt_fuse_mode_parse(const char *s);   /* "auto", "on", "off" -> enum ebt_fuse_mode; -1 */
int ebt_layout_mode_parse(const char *s); /* "auto", "lustre", ... -> enum ebt_layout_mode; -1 */
const char *ebt_layout_mode_name(int mode);
int ebt_visibility_parse(const char *s); /* -1 if unknown */
/* The visibility that applies to a canonical logical path. */
int ebt_config_visibility_for(const struct ebt_config *cfg, const char *path);
/* EBT_STAGE_CHUNK's range; also what --chunk accepts. */
#define EBT_STAGE_CHUNK_MIN (64u << 10)
#define EBT_STAGE_CHUNK_MAX (1u << 30)
/* Print every setting with its variable, default and meaning. */
void ebt_config_help(FILE *out);

#endif

/* The pattern guard's settings and state: static storage, kept by the instance between calls. */
#ifndef SETTINGS_H
#define SETTINGS_H

#include "wg_abi.h"

#define MAX_ITEMS 64
#define POOL_BYTES 16384

typedef struct {
  wg_str items[MAX_ITEMS];
  size_t len;
} str_list;

typedef struct {
  str_list patterns;        /* lowercased (ASCII) */
  str_list blocked_servers;
  bool block;               /* action: block (else hide) */
  uint32_t max_calls;       /* 0: no limit */
} settings;

extern settings S;

/* Read the settings with get-config on first use; NULL, or why they are invalid (every call). */
const char *settings_load(void);
/* Index of the first pattern text contains (ASCII case-insensitive), or -1. */
int match(wg_str text);
bool list_has(const str_list *l, wg_str s);
/* Count a call of server/tool; false when the table is full. */
bool count_call(wg_str server, wg_str tool, uint32_t *n);

#endif

/*
 * The canonical ABI glue of the world mcp:security-guard/security-guard@0.1.0, by hand (see
 * wg_abi.h for the layouts). What the component model asks of a core module:
 *
 * - `memory` and `cabi_realloc(old_ptr, old_size, align, new_size)`: the host allocates every
 *   argument string and list in the guest's memory through it, before the call;
 * - imports `mcp:security-guard/host@0.1.0` `log`, `get-time`, `get-config`, with their
 *   parameters flattened to core values (a string is two i32s) and, for `get-config`'s
 *   option<string>, a pointer where the host writes the answer;
 * - exports `mcp:security-guard/guard@0.1.0#<function>`: evaluate-tools-list takes its 15 flat
 *   parameters (list pointer and length, then the guard-context's fields), the other
 *   evaluate-* take more than 16 and so get one pointer to their arguments in memory; each
 *   returns a pointer to its result in a static return area;
 * - `cabi_post_<export>`: called once the host has read the result.
 *
 * Memory management is one bump arena above the static data: cabi_realloc takes from it, the
 * post-return functions reset it. A call's allocations are therefore freed in one store after
 * the answer is read; state that outlives a call must live in static storage (see guard.c).
 */
#include "wg_abi.h"

#include <string.h>

#define IMPORT(name) __attribute__((import_module("mcp:security-guard/host@0.1.0"), import_name(name)))
#define EXPORT(name) __attribute__((export_name("mcp:security-guard/guard@0.1.0#" name)))
#define POST(name) __attribute__((export_name("cabi_post_mcp:security-guard/guard@0.1.0#" name)))

/* ---- The arena. */

extern unsigned char __heap_base;
static uintptr_t arena_top;
static uintptr_t arena_end;

static uintptr_t arena_base(void) { return ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15; }

void *wg_alloc(size_t size, size_t align) {
  if (arena_top == 0) {
    arena_top = arena_base();
    arena_end = __builtin_wasm_memory_size(0) * 65536;
  }
  uintptr_t p = (arena_top + align - 1) & ~(uintptr_t)(align - 1);
  if (p + size > arena_end) {
    size_t need = p + size - arena_end;
    size_t pages = (need + 65535) / 65536;
    /* Grow at least 4 pages at a time; the sandbox refuses growth past the memory limit. */
    if (pages < 4) pages = 4;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap();
    arena_end += pages * 65536;
  }
  arena_top = p + size;
  return (void *)p;
}

static void arena_reset(void) { arena_top = arena_base(); }

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size,
                                                                 size_t align, size_t size) {
  /* Growing the newest allocation happens in place. */
  if (old != NULL && (uintptr_t)old + old_size == arena_top && size >= old_size) {
    arena_top = (uintptr_t)old;
    return wg_alloc(size, align) == old ? old : (__builtin_trap(), NULL);
  }
  void *p = wg_alloc(size == 0 ? 1 : size, align);
  if (old != NULL) memcpy(p, old, old_size < size ? old_size : size);
  return p;
}

/* ---- Byte buffers in the arena. */

void wg_buf_put(wg_buf *b, const char *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap * 2 + n + 64;
    b->ptr = cabi_realloc(b->ptr, b->cap, 1, cap);
    b->cap = cap;
  }
  memcpy(b->ptr + b->len, p, n);
  b->len += n;
}

void wg_buf_cstr(wg_buf *b, const char *s) { wg_buf_put(b, s, strlen(s)); }
void wg_buf_str(wg_buf *b, wg_str s) { wg_buf_put(b, s.ptr, s.len); }

void wg_buf_u64(wg_buf *b, uint64_t v) {
  char d[20];
  int n = 0;
  do d[19 - n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  wg_buf_put(b, d + 20 - n, (size_t)n);
}

void wg_buf_json(wg_buf *b, wg_str s) {
  static const char hex[] = "0123456789abcdef";
  wg_buf_put(b, "\"", 1);
  size_t run = 0; /* copy unescaped runs in one go */
  for (size_t i = 0; i < s.len; i++) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    wg_buf_put(b, s.ptr + run, i - run);
    run = i + 1;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      wg_buf_put(b, e, 2);
    } else {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      wg_buf_put(b, e, 6);
    }
  }
  wg_buf_put(b, s.ptr + run, s.len - run);
  wg_buf_put(b, "\"", 1);
}

wg_str wg_cstr(const char *s) { return (wg_str){s, strlen(s)}; }

/* ---- Host imports. */

IMPORT("log") extern void host_log(int32_t level, const char *p, size_t len);
IMPORT("get-time") extern int64_t host_get_time(void);
IMPORT("get-config") extern void host_get_config(const char *p, size_t len, wg_opt_str *ret);

void wg_log(uint8_t level, wg_str m) { host_log(level, m.ptr, m.len); }
uint64_t wg_get_time(void) { return (uint64_t)host_get_time(); }

bool wg_get_config(const char *key, wg_str *out) {
  wg_opt_str r;
  host_get_config(key, strlen(key), &r);
  if (!r.is_some) return false;
  *out = r.val;
  return true;
}

/* ---- Exports. */

static wg_result RET; /* the return area: read by the host after each call */

static wg_result *answer(void) { return &RET; }

EXPORT("evaluate-tools-list")
wg_result *export_tools_list(wg_tool *tools, size_t n, const char *sn, size_t snl, int32_t sid_some,
                             const char *sid, size_t sidl, int32_t cn_some, const char *cn,
                             size_t cnl, const char *ph, size_t phl, int64_t ts, wg_str *known,
                             size_t nknown) {
  const wg_list_tool list = {tools, n};
  const wg_context c = {
      .server_name = {sn, snl},
      .session_id = {(uint8_t)sid_some, {sid, sidl}},
      .client_name = {(uint8_t)cn_some, {cn, cnl}},
      .phase = {ph, phl},
      .timestamp = (uint64_t)ts,
      .known_servers = {known, nknown},
  };
  RET = (wg_result){0};
  guard_evaluate_tools_list(&list, &c, &RET);
  return answer();
}

/* More than 16 flat parameters: the host passes one pointer to the argument tuple. */
typedef struct {
  wg_server server;
  wg_context context;
} args_connection;
typedef struct {
  wg_invocation invocation;
  wg_context context;
} args_invoke;
typedef struct {
  wg_response response;
  wg_context context;
} args_response;
_Static_assert(offsetof(args_connection, context) == 48, "tuple layout");
_Static_assert(offsetof(args_invoke, context) == 24 && sizeof(args_invoke) == 80, "tuple");
_Static_assert(offsetof(args_response, context) == 32, "tuple layout");

EXPORT("evaluate-server-connection") wg_result *export_connection(args_connection *a) {
  RET = (wg_result){0};
  guard_evaluate_server_connection(&a->server, &a->context, &RET);
  return answer();
}

EXPORT("evaluate-tool-invoke") wg_result *export_invoke(args_invoke *a) {
  RET = (wg_result){0};
  guard_evaluate_tool_invoke(&a->invocation, &a->context, &RET);
  return answer();
}

EXPORT("evaluate-response") wg_result *export_response(args_response *a) {
  RET = (wg_result){0};
  guard_evaluate_response(&a->response, &a->context, &RET);
  return answer();
}

static wg_str STR_RET; /* return area of the string-returning functions */

EXPORT("get-settings-schema") wg_str *export_schema(void) {
  STR_RET = guard_get_settings_schema();
  return &STR_RET;
}

EXPORT("get-default-config") wg_str *export_defaults(void) {
  STR_RET = guard_get_default_config();
  return &STR_RET;
}

/* The host has read the answer: free the call's arguments and answer at once. */
POST("evaluate-tools-list") void post_tools_list(void *r) { (void)r, arena_reset(); }
POST("evaluate-server-connection") void post_connection(void *r) { (void)r, arena_reset(); }
POST("evaluate-tool-invoke") void post_invoke(void *r) { (void)r, arena_reset(); }
POST("evaluate-response") void post_response(void *r) { (void)r, arena_reset(); }
POST("get-settings-schema") void post_schema(void *r) { (void)r, arena_reset(); }
POST("get-default-config") void post_defaults(void *r) { (void)r, arena_reset(); }

/*
 * Hand-written bindings for the world mcp:security-guard/security-guard@0.1.0 (wit/), for C
 * compiled with `clang --target=wasm32-wasi`: the canonical ABI, without wit-bindgen.
 *
 * The structs below ARE the canonical ABI layout of the WIT records on wasm32 (checked by the
 * static asserts): a string is (pointer, byte length) of UTF-8, an option is a u8 discriminant
 * then the value at its alignment, a list is (pointer, count), a variant is a u8 tag then the
 * payload at the largest alignment. Arguments live in the guest's memory, written there by the
 * host through `cabi_realloc`; they stay valid until the function returns and Warden has read
 * the answer (the post-return export then frees everything at once, see wg_abi.c).
 *
 * A guard implements the six `guard_*` functions declared at the end.
 */
#ifndef WG_ABI_H
#define WG_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *ptr;
  size_t len;
} wg_str;

typedef struct {
  uint8_t is_some;
  wg_str val;
} wg_opt_str;

typedef struct {
  wg_str *ptr;
  size_t len;
} wg_list_str;

/* record tool */
typedef struct {
  wg_str name;
  wg_opt_str description;
  wg_str input_schema; /* JSON */
  wg_str extra;        /* JSON object, "{}" when none */
} wg_tool;

typedef struct {
  wg_tool *ptr;
  size_t len;
} wg_list_tool;

/* record guard-context */
typedef struct {
  wg_str server_name;
  wg_opt_str session_id;
  wg_opt_str client_name;
  wg_str phase;
  uint64_t timestamp;
  wg_list_str known_servers;
} wg_context;

/* record server-info */
typedef struct {
  wg_str name;
  wg_str transport;
  wg_opt_str url;
  wg_opt_str command;
  wg_list_str args;
} wg_server;

/* record tool-invocation */
typedef struct {
  wg_str method;
  wg_str tool_name;
  wg_str arguments; /* JSON */
} wg_invocation;

/* record tool-response */
typedef struct {
  wg_str method;
  wg_str tool_name;
  wg_str output; /* JSON */
  bool is_error;
} wg_response;

/* record deny-reason */
typedef struct {
  wg_str code;
  wg_str message;
  wg_opt_str details; /* JSON object */
} wg_deny;

/* variant decision */
enum { WG_ALLOW = 0, WG_DENY = 1, WG_MODIFY = 2, WG_WARN = 3 };
typedef struct {
  uint8_t tag;
  union {
    wg_deny deny;
    wg_str modify; /* JSON */
    wg_list_str warn;
  } val;
} wg_decision;

/* result<decision, string> */
typedef struct {
  uint8_t is_err;
  union {
    wg_decision ok;
    wg_str err;
  } val;
} wg_result;

/* The canonical ABI's sizes and offsets for these types (wasm32). */
_Static_assert(sizeof(wg_str) == 8 && sizeof(wg_opt_str) == 12, "string layout");
_Static_assert(sizeof(wg_tool) == 36 && offsetof(wg_tool, input_schema) == 20, "tool layout");
_Static_assert(sizeof(wg_context) == 56 && offsetof(wg_context, timestamp) == 40, "context");
_Static_assert(offsetof(wg_context, known_servers) == 48, "context layout");
_Static_assert(sizeof(wg_server) == 48 && offsetof(wg_server, args) == 40, "server layout");
_Static_assert(sizeof(wg_invocation) == 24, "invocation layout");
_Static_assert(sizeof(wg_response) == 28 && offsetof(wg_response, is_error) == 24, "response");
_Static_assert(sizeof(wg_deny) == 28, "deny-reason layout");
_Static_assert(sizeof(wg_decision) == 32 && offsetof(wg_decision, val) == 4, "decision");
_Static_assert(sizeof(wg_result) == 36 && offsetof(wg_result, val) == 4, "result layout");

/* ---- Memory: one arena for everything of the current call (freed after the answer is read). */

/* Aligned memory from the call's arena; traps when the memory limit is reached. */
void *wg_alloc(size_t size, size_t align);

/* A growable byte buffer in the arena (for building JSON answers). */
typedef struct {
  char *ptr;
  size_t len;
  size_t cap;
} wg_buf;
void wg_buf_put(wg_buf *b, const char *p, size_t n);
void wg_buf_cstr(wg_buf *b, const char *s);
void wg_buf_str(wg_buf *b, wg_str s);
void wg_buf_u64(wg_buf *b, uint64_t v);
/* s as a JSON string literal, quotes included. */
void wg_buf_json(wg_buf *b, wg_str s);
static inline wg_str wg_buf_done(const wg_buf *b) { return (wg_str){b->ptr, b->len}; }

wg_str wg_cstr(const char *s);

/* ---- Host imports (interface mcp:security-guard/host@0.1.0). */

void wg_log(uint8_t level, wg_str message); /* 0 trace .. 4 error */
uint64_t wg_get_time(void);                  /* Unix ms */
/* The guard's config value for key (strings raw, anything else as JSON); false when absent.
 * The value lives in the call's arena: copy what must outlive the call. */
bool wg_get_config(const char *key, wg_str *out);

/* ---- What the guard implements (interface mcp:security-guard/guard@0.1.0). Fill *out. */

void guard_evaluate_server_connection(const wg_server *s, const wg_context *c, wg_result *out);
void guard_evaluate_tools_list(const wg_list_tool *tools, const wg_context *c, wg_result *out);
void guard_evaluate_tool_invoke(const wg_invocation *i, const wg_context *c, wg_result *out);
void guard_evaluate_response(const wg_response *r, const wg_context *c, wg_result *out);
wg_str guard_get_settings_schema(void);
wg_str guard_get_default_config(void);

#endif

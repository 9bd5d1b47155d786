/*
 * A Warden security guard in C: the same job as ../js-pattern-guard, compiled to a small core
 * module (clang --target=wasm32-wasi) and made a component of the world
 * mcp:security-guard/security-guard@0.1.0 by build.mjs. The canonical ABI glue is wg_abi.c.
 *
 * It hides (or blocks) tools whose name or description contains a configured pattern, refuses
 * calls whose arguments contain one, warns about results that do, refuses listed servers at
 * connection, and limits how often each tool may be called (state kept by the instance).
 *
 * Settings (warden.yaml `config:`, read once per instance with get-config):
 *   patterns: ["delete", "drop table"]   words or phrases, ASCII case-insensitive
 *   action: hide | block                 what to do with a matching tool (default hide)
 *   max_calls_per_tool: 100              calls allowed per tool per instance (0 = no limit)
 *   blocked_servers: ["untrusted"]       servers refused at connection
 * A bad setting makes every call return err (a guard failure: failure_mode applies).
 */
#include <string.h>

#include "settings.h"
#include "wg_abi.h"

static void deny(wg_result *out, const char *code, wg_str message, const wg_buf *details) {
  out->val.ok.tag = WG_DENY;
  out->val.ok.val.deny = (wg_deny){wg_cstr(code), message, {details != NULL, {0, 0}}};
  if (details != NULL) out->val.ok.val.deny.details.val = wg_buf_done(details);
}

static bool fail_on_settings(wg_result *out) {
  const char *e = settings_load();
  if (e == NULL) return false;
  out->is_err = 1;
  out->val.err = wg_cstr(e);
  return true;
}

void guard_evaluate_server_connection(const wg_server *s, const wg_context *c, wg_result *out) {
  (void)c;
  if (fail_on_settings(out)) return;
  if (!list_has(&S.blocked_servers, s->name)) return; /* allow */
  wg_buf m = {0};
  wg_buf_cstr(&m, "server ");
  wg_buf_str(&m, s->name);
  wg_buf_cstr(&m, " is blocked by the pattern guard");
  deny(out, "server_blocked", wg_buf_done(&m), NULL);
}

void guard_evaluate_tools_list(const wg_list_tool *tools, const wg_context *c, wg_result *out) {
  if (fail_on_settings(out)) return;
  /* hit[i]: the pattern tool i matches, or -1. */
  int *hit = wg_alloc(tools->len * sizeof(int), 4);
  size_t hits = 0;
  for (size_t i = 0; i < tools->len; i++) {
    const wg_tool *t = &tools->ptr[i];
    int p = match(t->name);
    if (p < 0 && t->description.is_some) p = match(t->description.val);
    hit[i] = p;
    if (p >= 0) hits++;
  }
  if (hits == 0) return; /* allow */

  wg_buf log = {0};
  wg_buf_str(&log, c->server_name);
  wg_buf_cstr(&log, ": ");
  wg_buf_u64(&log, hits);
  wg_buf_cstr(&log, " tool(s) match a blocked pattern");
  wg_log(3, wg_buf_done(&log));

  if (S.block) {
    wg_buf m = {0}, d = {0}, pats = {0};
    wg_buf_cstr(&m, "tools ");
    wg_buf_cstr(&d, "{\"tools\":[");
    wg_buf_cstr(&pats, "],\"patterns\":[");
    size_t k = 0;
    for (size_t i = 0; i < tools->len; i++) {
      if (hit[i] < 0) continue;
      if (k++ > 0) wg_buf_cstr(&m, ", "), wg_buf_cstr(&d, ","), wg_buf_cstr(&pats, ",");
      wg_buf_str(&m, tools->ptr[i].name);
      wg_buf_json(&d, tools->ptr[i].name);
      wg_buf_json(&pats, S.patterns.items[hit[i]]);
    }
    wg_buf_cstr(&m, " of ");
    wg_buf_str(&m, c->server_name);
    wg_buf_cstr(&m, " match a blocked pattern");
    wg_buf_str(&d, wg_buf_done(&pats));
    wg_buf_cstr(&d, "]}");
    deny(out, "blocked_tool", wg_buf_done(&m), &d);
    return;
  }

  /* hide: the tools to keep, as MCP tool objects (name, description, inputSchema, extra). */
  wg_buf j = {0};
  wg_buf_cstr(&j, "[");
  size_t k = 0;
  for (size_t i = 0; i < tools->len; i++) {
    if (hit[i] >= 0) continue;
    const wg_tool *t = &tools->ptr[i];
    wg_buf_cstr(&j, k++ > 0 ? ",{\"name\":" : "{\"name\":");
    wg_buf_json(&j, t->name);
    if (t->description.is_some) {
      wg_buf_cstr(&j, ",\"description\":");
      wg_buf_json(&j, t->description.val);
    }
    wg_buf_cstr(&j, ",\"inputSchema\":");
    wg_buf_str(&j, t->input_schema);
    /* extra is a JSON object: splice its members in. */
    if (t->extra.len > 2) {
      wg_buf_cstr(&j, ",");
      wg_buf_put(&j, t->extra.ptr + 1, t->extra.len - 2);
    }
    wg_buf_cstr(&j, "}");
  }
  wg_buf_cstr(&j, "]");
  out->val.ok.tag = WG_MODIFY;
  out->val.ok.val.modify = wg_buf_done(&j);
}

void guard_evaluate_tool_invoke(const wg_invocation *inv, const wg_context *c, wg_result *out) {
  if (fail_on_settings(out)) return;
  int p = match(inv->arguments);
  if (p >= 0) {
    wg_buf m = {0};
    wg_buf_cstr(&m, "the arguments of ");
    wg_buf_str(&m, inv->tool_name);
    wg_buf_cstr(&m, " match the blocked pattern \"");
    wg_buf_str(&m, S.patterns.items[p]);
    wg_buf_cstr(&m, "\"");
    deny(out, "blocked_argument", wg_buf_done(&m), NULL);
    return;
  }
  uint32_t n;
  if (!count_call(c->server_name, inv->tool_name, &n)) {
    out->is_err = 1;
    out->val.err = wg_cstr("the per-tool call table is full");
    return;
  }
  if (S.max_calls == 0 || n <= S.max_calls) return; /* allow */
  wg_buf m = {0}, d = {0};
  wg_buf_str(&m, inv->tool_name);
  wg_buf_cstr(&m, " was called ");
  wg_buf_u64(&m, n);
  wg_buf_cstr(&m, " times (limit ");
  wg_buf_u64(&m, S.max_calls);
  wg_buf_cstr(&m, ")");
  wg_buf_cstr(&d, "{\"calls\":");
  wg_buf_u64(&d, n);
  wg_buf_cstr(&d, ",\"at\":");
  wg_buf_u64(&d, wg_get_time());
  wg_buf_cstr(&d, "}");
  deny(out, "too_many_calls", wg_buf_done(&m), &d);
}

void guard_evaluate_response(const wg_response *r, const wg_context *c, wg_result *out) {
  (void)c;
  if (fail_on_settings(out)) return;
  int p = match(r->output);
  if (p < 0) return; /* allow */
  wg_buf m = {0};
  wg_buf_cstr(&m, "the result of ");
  wg_buf_str(&m, r->tool_name);
  wg_buf_cstr(&m, " matches \"");
  wg_buf_str(&m, S.patterns.items[p]);
  wg_buf_cstr(&m, "\"");
  wg_str *one = wg_alloc(sizeof(wg_str), 4);
  *one = wg_buf_done(&m);
  out->val.ok.tag = WG_WARN;
  out->val.ok.val.warn = (wg_list_str){one, 1};
}

wg_str guard_get_settings_schema(void) {
  return wg_cstr(
      "{\"type\":\"object\",\"properties\":{"
      "\"patterns\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
      "\"action\":{\"enum\":[\"hide\",\"block\"]},"
      "\"max_calls_per_tool\":{\"type\":\"integer\",\"minimum\":0},"
      "\"blocked_servers\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
      "\"additionalProperties\":false}");
}

wg_str guard_get_default_config(void) {
  return wg_cstr(
      "{\"patterns\":[\"delete\",\"drop table\",\"rm -rf\"],\"action\":\"hide\","
      "\"max_calls_per_tool\":0,\"blocked_servers\":[]}");
}

/* Settings (read once through get-config), pattern matching, and the per-tool call counts. */
#include "settings.h"

#include <string.h>

settings S;
static bool loaded;
static const char *load_error;
static char pool[POOL_BYTES]; /* the settings' strings */
static size_t pool_len;

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

static bool keep(str_list *l, const char *p, size_t n, bool fold) {
  if (l->len == MAX_ITEMS || pool_len + n > POOL_BYTES) return false;
  char *d = pool + pool_len;
  for (size_t i = 0; i < n; i++) d[i] = fold ? lower(p[i]) : p[i];
  pool_len += n;
  l->items[l->len++] = (wg_str){d, n};
  return true;
}

static void put_utf8(char *out, size_t *n, uint32_t cp) {
  if (cp < 0x80) {
    out[(*n)++] = (char)cp;
  } else if (cp < 0x800) {
    out[(*n)++] = (char)(0xc0 | cp >> 6);
    out[(*n)++] = (char)(0x80 | (cp & 63));
  } else if (cp < 0x10000) {
    out[(*n)++] = (char)(0xe0 | cp >> 12);
    out[(*n)++] = (char)(0x80 | (cp >> 6 & 63));
    out[(*n)++] = (char)(0x80 | (cp & 63));
  } else {
    out[(*n)++] = (char)(0xf0 | cp >> 18);
    out[(*n)++] = (char)(0x80 | (cp >> 12 & 63));
    out[(*n)++] = (char)(0x80 | (cp >> 6 & 63));
    out[(*n)++] = (char)(0x80 | (cp & 63));
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool hex4(const char *p, const char *end, uint32_t *v) {
  if (end - p < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0) return false;
    *v = *v << 4 | (uint32_t)h;
  }
  return true;
}

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

/* A JSON array of strings (or one plain string) into l. */
static bool parse_list(wg_str v, str_list *l, bool fold) {
  const char *p = v.ptr, *end = v.ptr + v.len;
  if (v.len == 0 || v.ptr[0] != '[') return keep(l, v.ptr, v.len, fold);
  p = skip_ws(p + 1, end);
  if (p < end && *p == ']') return skip_ws(p + 1, end) == end;
  char *buf = wg_alloc(v.len * 2, 1); /* decoded strings are never longer than twice that */
  for (;;) {
    if (p == end || *p++ != '"') return false;
    size_t n = 0;
    while (p < end && *p != '"') {
      if (*p != '\\') {
        buf[n++] = *p++;
        continue;
      }
      if (++p == end) return false;
      char e = *p++;
      uint32_t cp;
      switch (e) {
        case 'n': buf[n++] = '\n'; break;
        case 't': buf[n++] = '\t'; break;
        case 'r': buf[n++] = '\r'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case '"': case '\\': case '/': buf[n++] = e; break;
        case 'u':
          if (!hex4(p, end, &cp)) return false;
          p += 4;
          if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
            uint32_t lo;
            if (hex4(p + 2, end, &lo) && lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              p += 6;
            }
          }
          put_utf8(buf, &n, cp);
          break;
        default: return false;
      }
    }
    if (p == end) return false;
    p = skip_ws(p + 1, end);
    if (n > 0 && !keep(l, buf, n, fold)) return false;
    if (p < end && *p == ',') {
      p = skip_ws(p + 1, end);
      continue;
    }
    return p < end && *p == ']' && skip_ws(p + 1, end) == end;
  }
}

static bool is(wg_str s, const char *lit) { return s.len == strlen(lit) && !memcmp(s.ptr, lit, s.len); }

static const char *load(void) {
  wg_str v;
  if (!wg_get_config("patterns", &v)) {
    static const char *defaults[] = {"delete", "drop table", "rm -rf"};
    for (int i = 0; i < 3; i++) keep(&S.patterns, defaults[i], strlen(defaults[i]), true);
  } else if (!parse_list(v, &S.patterns, true)) {
    return "config patterns: expected a list of at most 64 strings";
  }
  if (wg_get_config("blocked_servers", &v) && !parse_list(v, &S.blocked_servers, false))
    return "config blocked_servers: expected a list of at most 64 strings";
  if (wg_get_config("action", &v)) {
    if (is(v, "block")) S.block = true;
    else if (!is(v, "hide")) return "config action: expected hide or block";
  }
  if (wg_get_config("max_calls_per_tool", &v)) {
    uint64_t n = 0;
    if (v.len == 0 || v.len > 9) return "config max_calls_per_tool: expected an integer >= 0";
    for (size_t i = 0; i < v.len; i++) {
      if (v.ptr[i] < '0' || v.ptr[i] > '9') return "config max_calls_per_tool: expected an integer >= 0";
      n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    S.max_calls = (uint32_t)n;
  }
  return NULL;
}

const char *settings_load(void) {
  if (!loaded) {
    load_error = load();
    loaded = true;
  }
  return load_error;
}

int match(wg_str text) {
  for (size_t k = 0; k < S.patterns.len; k++) {
    wg_str p = S.patterns.items[k];
    if (p.len == 0 || p.len > text.len) continue;
    char first = p.ptr[0];
    for (size_t i = 0; i + p.len <= text.len; i++) {
      if (lower(text.ptr[i]) != first) continue;
      size_t j = 1;
      while (j < p.len && lower(text.ptr[i + j]) == p.ptr[j]) j++;
      if (j == p.len) return (int)k;
    }
  }
  return -1;
}

bool list_has(const str_list *l, wg_str s) {
  for (size_t i = 0; i < l->len; i++)
    if (l->items[i].len == s.len && !memcmp(l->items[i].ptr, s.ptr, s.len)) return true;
  return false;
}

/* Open addressing over server "/" tool; keys in their own pool. */
#define SLOTS 4096
#define KEY_BYTES (256 * 1024)
static struct {
  uint32_t off, len, calls;
} slots[SLOTS];
static char keys[KEY_BYTES];
static size_t keys_len = 1; /* offset 0 marks an empty slot */
static size_t used;

bool count_call(wg_str server, wg_str tool, uint32_t *n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < server.len; i++) h = (h ^ (uint8_t)server.ptr[i]) * 16777619u;
  h = (h ^ '/') * 16777619u;
  for (size_t i = 0; i < tool.len; i++) h = (h ^ (uint8_t)tool.ptr[i]) * 16777619u;
  size_t len = server.len + 1 + tool.len;
  for (uint32_t i = h % SLOTS;; i = (i + 1) % SLOTS) {
    if (slots[i].off == 0) {
      if (used * 4 >= SLOTS * 3 || keys_len + len > KEY_BYTES) return false;
      char *k = keys + keys_len;
      memcpy(k, server.ptr, server.len);
      k[server.len] = '/';
      memcpy(k + server.len + 1, tool.ptr, tool.len);
      slots[i].off = (uint32_t)keys_len;
      slots[i].len = (uint32_t)len;
      keys_len += len;
      used++;
    }
    const char *k = keys + slots[i].off;
    if (slots[i].len == len && !memcmp(k, server.ptr, server.len) && k[server.len] == '/' &&
        !memcmp(k + server.len + 1, tool.ptr, tool.len)) {
      *n = ++slots[i].calls;
      return true;
    }
  }
}

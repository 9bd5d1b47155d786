// spam-detector: a rule plugin in C (JSON ABI v1, the seed's ABI), freestanding: no libc, no
// imports. Verdict true (the rule matches) for an action_type of "spam" or a payload that
// mentions "lottery" or "viagra". Built by ../build.mjs:
//   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -o spam-detector.wasm detector.c

#define IN_CAP 65536

static unsigned char in_buf[IN_CAP];
static char out_buf[128];

// The host writes the input here; an input larger than the buffer gets 0 (memory_exceeded).
__attribute__((export_name("allocate"))) int allocate(int n) {
  return n >= 0 && n <= IN_CAP ? (int)in_buf : 0;
}

static int contains(const unsigned char *s, int len, const char *needle) {
  int n = 0;
  while (needle[n] != 0) n++;
  for (int i = 0; i + n <= len; i++) {
    int j = 0;
    while (j < n && s[i + j] == (unsigned char)needle[j]) j++;
    if (j == n) return 1;
  }
  return 0;
}

static long long answer(const char *text) {
  int n = 0;
  while (text[n] != 0 && n < (int)sizeof out_buf) {
    out_buf[n] = text[n];
    n++;
  }
  return ((long long)(int)out_buf << 32) | (long long)n;
}

__attribute__((export_name("evaluate"))) long long evaluate(int ptr, int len) {
  const unsigned char *s = (const unsigned char *)ptr;
  if (contains(s, len, "\"action_type\":\"spam\""))
    return answer("{\"verdict\":true,\"message\":\"spam actions are blocked\"}");
  if (contains(s, len, "lottery") || contains(s, len, "viagra"))
    return answer("{\"verdict\":true,\"message\":\"the payload looks like spam\"}");
  return answer("{\"verdict\":false}");
}

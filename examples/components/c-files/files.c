/*
 * A small file tool as a WebAssembly component, in C (world warden:files/files-tool, files.wit).
 *
 * The tool's work is plain C against wasi-libc (fopen, fread, fwrite, opendir, readdir): each
 * of those becomes a WASI preview 1 call, which jco's preview 1 adapter (added by build.mjs)
 * turns into wasi:filesystem calls, and Warden judges every one against the policy.
 *
 * The canonical ABI is written by hand (no wit-bindgen needed for these signatures):
 * - `cabi_realloc`: the host allocates every argument string in our memory through it, before
 *   the call. It takes from a static bump arena, reset when the host has read the answer
 *   (`cabi_post_*`), so a call never grows the memory and Warden can reset the instance to
 *   its image after every call.
 * - a `string` parameter arrives as (pointer, length); a `u32` result is returned as is;
 *   `result<string, string>`, `result<u32, string>` and `result<list<string>, string>` are
 *   returned as a pointer to a return area: byte 0 the case (0 ok, 1 err), then at offset 4
 *   the payload (a string or a list is pointer + length; a list<string> points at
 *   (pointer, length) pairs).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name("warden:files/files@0.1.0#" name)))
#define POST(name) __attribute__((export_name("cabi_post_warden:files/files@0.1.0#" name)))

/* ---- The arena: argument strings and answers live here until the host has read them. */

#define ARENA_SIZE (256 * 1024)
static _Alignas(16) unsigned char arena[ARENA_SIZE];
static size_t arena_top;

static void *arena_alloc(size_t size, size_t align) {
  size_t p = (arena_top + align - 1) & ~(align - 1);
  if (p + size > ARENA_SIZE) __builtin_trap(); /* the sandbox answers a trap */
  arena_top = p + size;
  return arena + p;
}

__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size,
                                                                 size_t align, size_t size) {
  void *p = arena_alloc(size, align);
  if (old != NULL) memcpy(p, old, old_size < size ? old_size : size);
  return p;
}

/* A NUL-terminated copy of an argument string (the arena is freed after the call). */
static char *cstr(const char *s, size_t len) {
  char *out = arena_alloc(len + 1, 1);
  memcpy(out, s, len);
  out[len] = 0;
  return out;
}

/* ---- Return areas. */

struct str {
  const char *ptr;
  size_t len;
};

struct ret {
  uint8_t tag; /* 0 ok, 1 err */
  union {
    struct str s;
    uint32_t n;
  } val;
};

static struct ret ret_area;

static struct ret *ok_str(const char *p, size_t n) {
  ret_area.tag = 0;
  ret_area.val.s = (struct str){p, n};
  return &ret_area;
}

static struct ret *ok_u32(uint32_t n) {
  ret_area.tag = 0;
  ret_area.val.n = n;
  return &ret_area;
}

/* err(E): the C library's message for errno, e.g. "Permission denied" for a refused call. */
static struct ret *err_errno(const char *what, const char *path) {
  const char *m = strerror(errno);
  size_t n = strlen(what) + strlen(path) + strlen(m) + 4;
  char *s = arena_alloc(n, 1);
  int len = snprintf(s, n, "%s %s: %s", what, path, m);
  ret_area.tag = 1;
  ret_area.val.s = (struct str){s, (size_t)len};
  return &ret_area;
}

/* ---- The tools. */

#define READ_MAX (64 * 1024)
static char read_buf[READ_MAX];

EXPORT("read") struct ret *files_read(const char *path_ptr, size_t path_len) {
  const char *path = cstr(path_ptr, path_len);
  FILE *f = fopen(path, "rb");
  if (f == NULL) return err_errno("cannot open", path);
  size_t n = fread(read_buf, 1, READ_MAX, f);
  int failed = ferror(f);
  fclose(f);
  if (failed) return err_errno("cannot read", path);
  return ok_str(read_buf, n);
}

EXPORT("write")
struct ret *files_write(const char *path_ptr, size_t path_len, const char *text, size_t text_len) {
  const char *path = cstr(path_ptr, path_len);
  FILE *f = fopen(path, "wb");
  if (f == NULL) return err_errno("cannot open", path);
  size_t n = fwrite(text, 1, text_len, f);
  if (fclose(f) != 0 || n != text_len) return err_errno("cannot write", path);
  return ok_u32((uint32_t)n);
}

#define LIST_MAX 256
static int by_name(const void *a, const void *b) {
  const struct str *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->ptr, y->ptr, n);
  return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

EXPORT("list-dir") struct ret *files_list(const char *dir_ptr, size_t dir_len) {
  const char *dir = cstr(dir_ptr, dir_len);
  DIR *d = opendir(dir);
  if (d == NULL) return err_errno("cannot list", dir);
  struct str *names = arena_alloc(LIST_MAX * sizeof(struct str), 4);
  size_t count = 0;
  struct dirent *e;
  errno = 0;
  while (count < LIST_MAX && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    size_t n = strlen(e->d_name);
    names[count++] = (struct str){cstr(e->d_name, n), n};
  }
  int failed = errno != 0;
  closedir(d);
  if (failed) return err_errno("cannot list", dir);
  qsort(names, count, sizeof(struct str), by_name);
  ret_area.tag = 0;
  ret_area.val.s = (struct str){(const char *)names, count};
  return &ret_area;
}

EXPORT("words") uint32_t files_words(const char *text, size_t len) {
  uint32_t words = 0;
  int in_word = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    int space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (!space && !in_word) words++;
    in_word = !space;
  }
  arena_top = 0; /* no post-return for a u32 answer: free the argument here */
  return words;
}

/* The host has read the answer: free everything the call allocated. */
POST("read") void post_read(void *ret) { (void)ret, arena_top = 0; }
POST("write") void post_write(void *ret) { (void)ret, arena_top = 0; }
POST("list-dir") void post_list(void *ret) { (void)ret, arena_top = 0; }

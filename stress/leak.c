/* Leak probes read from /proc: descriptors, shared mappings, resident
 * memory.  (conformance/harness.c has a descriptor snapshot for its
 * fixture; the stress harness only needs counts over time, so it keeps
 * these few lines of its own rather than share the Check-based harness.) */
#include "stress.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int st_count_fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
      n++;
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

int st_count_shared_maps(void)
{
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int n = 0;
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    char perms[8];
    if (sscanf(line, "%*s %7s", perms) == 1 && perms[3] == 's')
      n++;
  }
  fclose(f);
  return n;
}

pid_t st_parent_of(pid_t pid)
{
  char path[64], buf[512], *p;
  FILE *f;
  size_t n;
  long ppid = -1;
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  if ((f = fopen(path, "r")) == NULL)
    return -1;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The name in parentheses may hold anything: parse after its end. */
  p = strrchr(buf, ')');
  if (p == NULL || sscanf(p + 2, "%*c %ld", &ppid) != 1)
    return -1;
  return (pid_t)ppid;
}

long st_rss_kib(pid_t pid)
{
  char path[64];
  long pages = -1, resident = -1;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
  if ((f = fopen(path, "r")) == NULL)
    return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
    resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

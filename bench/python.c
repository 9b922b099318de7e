/* The CPython side: one python3 process running bench.py, fed one request
 * per line, so that interpreter start-up is paid once and stays outside
 * every measurement. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t py_pid = -1;
static FILE *py_in, *py_out; /* requests to python, answers from it */

int python_start(const char *python, const char *script) {
  int down[2], up[2];
  if (pipe(down) != 0)
    return -1;
  if (pipe(up) != 0) {
    close(down[0]);
    close(down[1]);
    return -1;
  }
  fflush(NULL);
  py_pid = fork();
  if (py_pid == 0) {
    dup2(down[0], 0);
    dup2(up[1], 1);
    close(down[0]);
    close(down[1]);
    close(up[0]);
    close(up[1]);
    execlp(python, python, script, (char *)NULL);
    _exit(127);
  }
  close(down[0]);
  close(up[1]);
  if (py_pid < 0) {
    close(down[1]);
    close(up[0]);
    return -1;
  }
  py_in = fdopen(down[1], "w");
  py_out = fdopen(up[0], "r");
  if (py_in == NULL || py_out == NULL) {
    python_stop();
    return -1;
  }
  /* A first request proves that the interpreter and the script run. */
  bench_params probe = {.n = 1, .procs = 1, .size = 0};
  if (python_run("lock", &probe) < 0) {
    python_stop();
    return -1;
  }
  return 0;
}

double python_run(const char *workload, const bench_params *p) {
  char line[128];
  if (py_in == NULL)
    return -1;
  fprintf(py_in, "%s %ld %d %zu\n", workload, p->n, p->procs, p->size);
  fflush(py_in);
  if (fgets(line, sizeof line, py_out) == NULL)
    return -1;
  double t = strtod(line, NULL);
  return isnan(t) ? -1 : t;
}

void python_stop(void) {
  if (py_in != NULL)
    fclose(py_in); /* end of input: the server returns */
  if (py_out != NULL)
    fclose(py_out);
  py_in = py_out = NULL;
  if (py_pid > 0)
    while (waitpid(py_pid, NULL, 0) < 0 && errno == EINTR)
      ;
  py_pid = -1;
}

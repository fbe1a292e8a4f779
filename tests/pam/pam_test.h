/*
 * pam_test.h: the parts of the pam_mtls tests (tests/pam/).
 *
 *   test_pam.c		the cases: services, mtlsd, libpamtest calls
 *   harness.c		results, child processes, sockets, log capture
 *   fake_daemon.c	stand-ins for mtlsd's query socket
 */
#ifndef PAM_TEST_H
#define PAM_TEST_H

#include <sys/types.h>
#include <sys/un.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))

#define WAIT_MS		10000	/* for anything that should be quick */
#define FAKE_GIVE_UP_MS	20000	/* a silent fake daemon hangs up after this */

/* harness.c */
/* "PASS pam/NAME" on stdout (and the log), counted. */
extern int	 npass, nfail, nskip;
void		 pass(const char *name);
void		 fail(const char *name, const char *fmt, ...) PRINTFLIKE(2, 3);
void		 skip(const char *name, const char *fmt, ...) PRINTFLIKE(2, 3);
void		 note(const char *fmt, ...) PRINTFLIKE(1, 2);

uint64_t	 now_ms(void);
void		 sleep_ms(unsigned ms);
void		 path_join(char *out, size_t size, const char *dir,
		    const char *name);
int		 read_small(const char *path, char *buf, size_t size);
bool		 file_has(const char *path, const char *needle);
int		 count_in_file(const char *path, const char *needle);
void		 show_tail(const char *title, const char *path);

/* Point fd 2 at path; capture_end restores it and returns the text. */
void		 capture_start(const char *path);
char		*capture_end(const char *path);

void		 track(pid_t pid);
void		 untrack(pid_t pid);
bool		 wait_exit(pid_t pid, unsigned ms, int *status);
void		 stop_child(pid_t pid, unsigned ms);
void		 kill_child(pid_t pid);
void		 kill_children(void);
void		 no_wrapper_env(void);
pid_t		 spawn(char *const argv[], int in_fd, const char *out_path);
FILE		*pipe_from(char *const argv[], bool with_stderr, pid_t *pidp);
int		 pipe_close(FILE *f, pid_t pid);
int		 command_line(char *const argv[], bool skip_key, char *out,
		    size_t size);

void		 sun_set(struct sockaddr_un *sun, const char *path);
int		 tcp_listen(uint16_t *port);
uint16_t	 free_port(void);
int		 unix_listen(const char *path, mode_t mode);
int		 accept_within(int lfd, unsigned ms);
bool		 wait_eof(int fd, unsigned ms);
bool		 read_line_within(int fd, unsigned ms);
int		 loopback_pair(int out[2]);
int		 write_all(int fd, const void *data, size_t len);

/* fake_daemon.c */
enum fake_mode {
	FAKE_OK,		/* a valid session record mapping to the account */
	FAKE_TEXT,		/* an HTTP error page */
	FAKE_BINARY,		/* bytes with NULs, no newline */
	FAKE_SHORT,		/* "OK 2" and one record */
	FAKE_BAD_ESCAPE,	/* a record with %ZZ */
	FAKE_VERSION,		/* MTLS/2 */
	FAKE_HUGE,		/* one record line far beyond the limit */
	FAKE_DENIED,		/* ERR denied */
	FAKE_NOT_FOUND,		/* ERR not_found */
	FAKE_SILENT,		/* accepts, reads, never answers */
};
extern const char *fake_mode_names[];

struct fake {
	pid_t	 pid;
	int	 report;	/* read end: one line per request received */
};

/*
 * Serve path in mode, as run_as (when root), records naming account.
 * 0 once it listens.
 */
int		 fake_start(struct fake *fk, const char *path,
		    enum fake_mode mode, mode_t sockmode, uid_t run_as,
		    const char *account);
/* The first request line it received within ms, or "". */
void		 fake_request(struct fake *fk, char *out, size_t size,
		    unsigned ms);
void		 fake_stop(struct fake *fk);

#endif

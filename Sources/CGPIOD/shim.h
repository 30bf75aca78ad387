#ifndef SOLEUS_CGPIOD_SHIM_H
#define SOLEUS_CGPIOD_SHIM_H
#include <gpiod.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

/// 1 when the libgpiod v1 (1.6.x) header is in use; only the v1 header defines this macro.
#ifdef GPIOD_LINE_BULK_MAX_LINES
static const int soleus_gpio_api_v1 = 1;
#else
static const int soleus_gpio_api_v1 = 0;
#endif

// The few operations Soleus needs from libgpiod, in one small C facade: Swift calls only these
// (through SoleusHardware's GPIOLibrary seam), so a port to the libgpiod v2 API (Debian trixie)
// replaces the bodies below and nothing else. Every function returns NULL or -1 with errno set
// on failure.

#ifdef GPIOD_LINE_BULK_MAX_LINES

/// A bulk request of output lines.
typedef struct soleus_gpio_outputs {
    struct gpiod_line_bulk bulk;
} soleus_gpio_outputs;

/// Opens a chip by path (/dev/gpiochip0), name (gpiochip0), label or number.
static inline struct gpiod_chip *soleus_gpio_open(const char *chip) { return gpiod_chip_open_lookup(chip); }
static inline unsigned soleus_gpio_line_count(struct gpiod_chip *chip) { return gpiod_chip_num_lines(chip); }
static inline void soleus_gpio_close(struct gpiod_chip *chip) { gpiod_chip_close(chip); }

/// Requests `n` lines as outputs in one bulk request, driving `values` from the first instant.
static inline soleus_gpio_outputs *soleus_gpio_request_outputs(struct gpiod_chip *chip, const unsigned *offsets, const int *values,
                                                               unsigned n, const char *consumer) {
    soleus_gpio_outputs *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    if (gpiod_chip_get_lines(chip, (unsigned *)offsets, n, &r->bulk) < 0) {
        int e = errno; free(r); errno = e; return NULL;
    }
    struct gpiod_line_request_config cfg = { consumer, GPIOD_LINE_REQUEST_DIRECTION_OUTPUT, 0 };
    if (gpiod_line_request_bulk(&r->bulk, &cfg, values) < 0) {
        int e = errno; free(r); errno = e; return NULL;
    }
    return r;
}

/// Sets every line of the request in one ioctl.
static inline int soleus_gpio_set_outputs(soleus_gpio_outputs *r, const int *values) {
    return gpiod_line_set_value_bulk(&r->bulk, (int *)values);
}

static inline void soleus_gpio_release_outputs(soleus_gpio_outputs *r) {
    gpiod_line_release_bulk(&r->bulk);
    free(r);
}

/// Requests one input with events on both edges; its event fd is made non-blocking.
/// bias: 0 as is, 1 pull-up, 2 pull-down.
static inline struct gpiod_line *soleus_gpio_request_input_events(struct gpiod_chip *chip, unsigned offset, const char *consumer, int bias) {
    struct gpiod_line *line = gpiod_chip_get_line(chip, offset);
    if (!line) return NULL;
    int flags = bias == 1 ? GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP : bias == 2 ? GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN : 0;
    if (gpiod_line_request_both_edges_events_flags(line, consumer, flags) < 0) return NULL;
    int fd = gpiod_line_event_get_fd(line);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int e = errno; gpiod_line_release(line); errno = e; return NULL;
    }
    return line;
}

/// The line's level now (0 or 1).
static inline int soleus_gpio_get(struct gpiod_line *line) { return gpiod_line_get_value(line); }

/// Reads every queued edge event without blocking; counts rising and falling edges. Returns the
/// number read, or -1.
static inline int soleus_gpio_drain_events(struct gpiod_line *line, int *rising, int *falling) {
    struct gpiod_line_event ev[16];
    int fd = gpiod_line_event_get_fd(line);
    int total = 0;
    for (;;) {
        int n = gpiod_line_event_read_fd_multiple(fd, ev, 16);
        if (n < 0) return errno == EAGAIN ? total : -1;
        for (int i = 0; i < n; i++) {
            if (ev[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE) (*rising)++; else (*falling)++;
        }
        total += n;
        if (n < 16) return total;
    }
}

static inline void soleus_gpio_release_line(struct gpiod_line *line) { gpiod_line_release(line); }

#else
#error "libgpiod v2 headers: port the soleus_gpio_* facade in Sources/CGPIOD/shim.h to the v2 API (docs/hardware.md, \"GPIO\")"
#endif

#endif

#ifndef MDC_RENDER_H
#define MDC_RENDER_H
/*
 * Plan -> text (people), JSON (machines; the saved plan format) and markdown (pull
 * request comments). Pure: output goes into a caller's struct mdc_buf, nothing is
 * printed. The CLI decides colour (TTY, --no-color, NO_COLOR) and passes it in.
 *
 * Every string in a plan may come from Azure (display names, names, messages), so every
 * one is sanitised: control characters, escape sequences, C1 controls, bidirectional
 * overrides and invalid UTF-8 never reach a terminal, and in markdown the characters
 * that could start markup or HTML are written as entities.
 *
 * Counting: create = add, update and register = change (a registration changes the
 * subscription), delete = remove; a blocked item counts only as blocked.
 */
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "plan.h"

/* GitHub refuses comments over 65,536 characters; stay clear of it. */
#define MDC_RENDER_MARKDOWN_LIMIT 65000

struct mdc_render_opts {
	bool color;                 /* ANSI colour in text output */
	bool show_noop;             /* list items that change nothing */
	const char *full_plan_hint; /* markdown: where the full JSON plan is (shown when
	                               the comment aggregates); may be NULL */
	size_t markdown_limit;      /* 0 = MDC_RENDER_MARKDOWN_LIMIT; output stays below it */
};

/* Appends the Terraform-like text rendering; ends with the summary line. */
void mdc_render_text(struct mdc_buf *out, const struct mdc_plan *p,
                     const struct mdc_render_opts *o);
/* Appends the saved plan JSON (mdc_plan_to_json). */
void mdc_render_json(struct mdc_buf *out, const struct mdc_plan *p);
/* Appends markdown for a pull-request comment, always shorter than the limit. */
void mdc_render_markdown(struct mdc_buf *out, const struct mdc_plan *p,
                         const struct mdc_render_opts *o);
/* Appends "Plan: N to add, N to change, N to remove, N blocked." (no newline). */
void mdc_render_summary(struct mdc_buf *out, const struct mdc_plan_counts *c);

/* Appends s with control characters, escape sequences, C1 controls, bidi overrides and
 * invalid UTF-8 removed (newlines and tabs become spaces). NULL appends nothing. */
void mdc_sanitize_term(struct mdc_buf *out, const char *s);
/* mdc_sanitize_term, then markdown/HTML special characters as entities. */
void mdc_sanitize_markdown(struct mdc_buf *out, const char *s);

#endif

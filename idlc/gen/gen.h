/*
 * idlc/gen/gen.h - code generation: checked tree -> FILE.h and FILE.c.
 */
#ifndef IDLC_GEN_H
#define IDLC_GEN_H

typedef struct idlc_compilation idlc_compilation;

/* Generate the outputs of `comp` into out_dir (NULL: into comp->out_h
 * and comp->out_c instead of files), from the templates in templates_dir
 * (NULL: the built-in ones).  Refuses constructs outside the C mapping
 * first.  Returns 0, or -1 after reporting an error. */
int idlc_generate(idlc_compilation *comp, const char *out_dir,
		  const char *templates_dir);

#endif /* IDLC_GEN_H */

/*
 * libFuzzer target for the desired-state loader: any bytes in, never a crash, a leak, or
 * undefined behaviour; and a result consistent with its diagnostics.
 */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdc_diags d = {0};
	struct mdc_config *cfg = NULL;
	int rc = mdc_config_parse(&cfg, (const char *)data, size, "fuzz.yaml", &d);

	if ((rc == 0) != (cfg != NULL) || (rc == 0) != (d.nerrors == 0))
		abort();
	for (size_t i = 0; i < d.n; i++)
		if (!d.v[i].message || !d.v[i].message[0])
			abort();
	if (cfg) {
		/* Exercise the model functions the planner uses. */
		struct mdc_sub_facts f = {cfg->workspace.subscription, NULL, NULL};
		struct mdc_settings s;
		mdc_config_selects(cfg, &f);
		mdc_config_effective(cfg, &f, &s);
		mdc_settings_plan(&s, "VirtualMachines");
		mdc_settings_clear(&s);
	}
	mdc_config_free(cfg);
	mdc_diags_clear(&d);
	return 0;
}

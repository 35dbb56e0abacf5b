/* cmd_json: how every verb prints its --json answer. */
#include "services/cella/cmd.h"

#include <stdio.h>

#include <cjson/cJSON.h>

void
cella_cmd_print_json(cJSON *o, bool pretty)
{
	char *text = o == NULL ? NULL
		     : pretty  ? cJSON_Print(o)
			       : cJSON_PrintUnformatted(o);

	if (text != NULL)
		printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(o);
}

/* placeholder: replaced by its module's tests */
#include "unit.h"
int
main(void)
{
	return (unit_done());
}

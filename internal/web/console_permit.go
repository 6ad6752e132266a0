package web

import (
	"github.com/elicense/elicense/internal/library"
	"github.com/elicense/elicense/internal/license"
)

// PermitStatus names the status of a permit of the licence library (valid, expired, …) that a
// console look-up shows, in the page's language.
func (d *consoleData) PermitStatus(st license.Status) string {
	zh, en := library.StatusName(library.Status(st))
	if d.Lang == "en" {
		return en
	}
	return zh
}

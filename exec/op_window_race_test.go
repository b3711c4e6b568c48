//go:build race

package exec

// The race detector slows the window state test tenfold; it checks the
// same bound with fewer rows (the operator runs on one goroutine anyway).
func init() { windowBoundedRows = 1_000_000 }

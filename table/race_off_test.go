//go:build !race

package table_test

// raceEnabled says the tests run under the race detector, ten times
// slower: randomized tests generate less data.
const raceEnabled = false

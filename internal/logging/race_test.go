//go:build race

package logging

// raceEnabled: the race detector allocates behind the code's back, so
// allocation counts are checked only without it (as the standard library
// does).
const raceEnabled = true

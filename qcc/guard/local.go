package guard

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// localState is the default StateStore: the cooldowns and the budget count
// in memory, each change written at once to the state file beside the
// cache file and mirrored into the cache file itself, when there is one,
// so that a restart (or a kill) forgets nothing that was paid for, and
// damage to either file alone loses nothing either.
type localState struct {
	file  *store     // nil without a cache file
	state *stateFile // nil without a cache file
	log   *slog.Logger

	mu        sync.Mutex
	cooldowns map[string]Cooldown
	budget    budget
	// spentDay is a Beijing day whose count was lost: its budget is
	// treated as used up, so that a lost count never spends it twice.
	spentDay string
	clients  clientBudgets
}

// clientBudgets counts the requests of each caller on one Beijing day.
type clientBudgets struct {
	Day  string         `json:"day"`
	Used map[string]int `json:"used"` // by caller
}

// budget counts the upstream requests of one Beijing calendar day.
type budget struct {
	Day  string `json:"day"` // 2006-01-02 in Beijing
	Used int    `json:"used"`
}

// State names in the cache file: the budget, and "cooldown/" + a cooldown
// name (CooldownQuota, CooldownCredential, CooldownQueryPrefix + key).
const (
	stateBudget         = "budget"
	stateClients        = "clients"
	stateCooldownPrefix = "cooldown/"
)

// newLocalState returns the state, restored from the state file beside
// file and from file's copy (either may be missing; file may be nil),
// skipping cooldowns that ended before now. Only a state file that is
// not ours (or a link) is an error; a state that cannot be recovered at
// all makes today's budget count as spent, with a warning.
func newLocalState(file *store, now time.Time, log *slog.Logger) (*localState, error) {
	l := &localState{file: file, log: log, cooldowns: make(map[string]Cooldown)}
	if file == nil {
		return l, nil
	}
	l.state = &stateFile{path: stateFilePath(file.path)}
	doc, found, err := loadStateFile(l.state.path, now)
	damaged := errors.Is(err, errStateDamaged)
	if err != nil && !damaged {
		return nil, err
	}
	if found {
		l.budget, l.clients = doc.Budget, doc.Clients
		for name, c := range doc.Cooldowns {
			l.merge(name, c, now)
		}
	}
	// The cache file's copy: the only one of a file written before the
	// state file existed, and a second one should the state file be lost.
	file.eachState(func(name string, data []byte) {
		if name == stateBudget {
			var b budget
			if json.Unmarshal(data, &b) == nil && (b.Day > l.budget.Day || b.Day == l.budget.Day && b.Used > l.budget.Used) {
				l.budget = b
			}
			return
		}
		if name == stateClients {
			var c clientBudgets
			if json.Unmarshal(data, &c) == nil && (c.Day > l.clients.Day || l.clients.Used == nil) {
				l.clients = c
			}
			return
		}
		var c Cooldown
		if strings.HasPrefix(name, stateCooldownPrefix) && json.Unmarshal(data, &c) == nil {
			l.merge(strings.TrimPrefix(name, stateCooldownPrefix), c, now)
		}
	})
	switch {
	case found:
	case file.rebuilt || damaged:
		// Lost in one file and not in the other only when neither is
		// whole: the count of today is unknown.
		if !file.rebuilt && file.existed {
			log.Warn("the state file was damaged; recovered the budget and cooldowns from the cache file",
				"file", l.state.path, "reason", errString(err))
			break
		}
		l.spentDay = beijingDay(now)
		log.Warn("the budget count and cooldowns could not be recovered (cache file damaged, no whole state file): "+
			"today's budget is treated as used up, and calls to QCC resume at 00:00 Beijing time",
			"file", l.state.path, "day", l.spentDay, "reason", errString(err))
	}
	l.mu.Lock()
	l.saveLocked() // a state file for a cache file that had none
	l.mu.Unlock()
	return l, nil
}

func errString(err error) string {
	if err == nil {
		return "no state file"
	}
	return err.Error()
}

// merge keeps cooldown c under name unless it has ended or one ending
// later is kept.
func (l *localState) merge(name string, c Cooldown, now time.Time) {
	if !now.Before(c.Until) {
		return
	}
	if old, ok := l.cooldowns[name]; ok && !c.Until.After(old.Until) {
		return
	}
	l.cooldowns[name] = c
}

// Cooldowns implements StateStore.
func (l *localState) Cooldowns(_ context.Context, names []string, now time.Time) (map[string]Cooldown, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out map[string]Cooldown
	for _, name := range names {
		c, ok := l.cooldowns[name]
		if !ok {
			continue
		}
		if !now.Before(c.Until) {
			delete(l.cooldowns, name) // the file's copy goes at its next sweep
			continue
		}
		if out == nil {
			out = make(map[string]Cooldown, 1)
		}
		out[name] = c
	}
	return out, nil
}

// ExtendCooldown implements StateStore.
func (l *localState) ExtendCooldown(_ context.Context, name string, c Cooldown) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.cooldowns[name]; ok && old.Until.After(c.Until) {
		return nil
	}
	l.cooldowns[name] = c
	if l.file != nil {
		l.file.putState(stateCooldownPrefix+name, c)
		l.writeStateLocked()
	}
	return nil
}

// Reserve implements StateStore.
func (l *localState) Reserve(_ context.Context, day string, limit, floor int) (int, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if isClientDay(day) {
		return l.reserveClientLocked(day, limit)
	}
	if l.budget.Day != day {
		l.budget = budget{Day: day}
	}
	l.budget.Used = max(l.budget.Used, floor)
	if limit > 0 && (l.budget.Used >= limit || l.spentDay == day) {
		return l.budget.Used, false, nil
	}
	l.budget.Used++
	l.saveLocked()
	return l.budget.Used, true, nil
}

// Add implements StateStore.
func (l *localState) Add(_ context.Context, day string, n, floor int) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.budget.Day != day {
		l.budget = budget{Day: day}
	}
	l.budget.Used = max(l.budget.Used, floor) + max(n, 0)
	l.saveLocked()
	return l.budget.Used, nil
}

// Refund implements StateStore.
func (l *localState) Refund(_ context.Context, day string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if isClientDay(day) {
		d, client, _ := strings.Cut(day, ClientDayInfix)
		if l.clients.Day == d && l.clients.Used[client] > 0 {
			l.clients.Used[client]--
			l.saveClientsLocked()
		}
		return nil
	}
	if l.budget.Day == day && l.budget.Used > 0 {
		l.budget.Used--
		l.saveLocked()
	}
	return nil
}

// Used implements StateStore.
func (l *localState) Used(_ context.Context, day string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if isClientDay(day) {
		d, client, _ := strings.Cut(day, ClientDayInfix)
		if l.clients.Day != d {
			return 0, nil
		}
		return l.clients.Used[client], nil
	}
	if l.budget.Day != day {
		return 0, nil
	}
	return l.budget.Used, nil
}

// saveLocked writes the budget to the file under the lock, so that the
// file's count never lags a request that was sent.
func (l *localState) saveLocked() {
	if l.file != nil {
		l.file.putState(stateBudget, l.budget)
		l.writeStateLocked()
	}
}

// writeStateLocked replaces the state file with the state in memory.
// A failure is logged: the cache file's copy and memory still hold it.
func (l *localState) writeStateLocked() {
	doc := &stateDoc{Budget: l.budget, Clients: l.clients, Cooldowns: make(map[string]Cooldown, len(l.cooldowns))}
	for name, c := range l.cooldowns {
		doc.Cooldowns[name] = c
	}
	if err := l.state.write(doc); err != nil {
		l.log.Warn("state file not saved; the cache file's copy and memory still hold the state",
			"file", l.state.path, "error", err.Error())
	}
}

// reserveClientLocked is Reserve for a per-caller key: the counts of one
// day are kept, and a new day starts them all again.
func (l *localState) reserveClientLocked(key string, limit int) (int, bool, error) {
	day, client, _ := strings.Cut(key, ClientDayInfix)
	if l.clients.Day != day || l.clients.Used == nil {
		l.clients = clientBudgets{Day: day, Used: map[string]int{}}
	}
	if n := l.clients.Used[client]; limit > 0 && n >= limit {
		return n, false, nil
	}
	l.clients.Used[client]++
	l.saveClientsLocked()
	return l.clients.Used[client], true, nil
}

func (l *localState) saveClientsLocked() {
	if l.file != nil {
		l.file.putState(stateClients, l.clients)
		l.writeStateLocked()
	}
}

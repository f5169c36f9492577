package guard

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// localState is the default StateStore: the cooldowns and the budget count
// in memory, each change mirrored at once into the cache file when there is
// one, so that a restart (or a kill) forgets nothing that was paid for.
type localState struct {
	file *store // nil without a cache file

	mu        sync.Mutex
	cooldowns map[string]Cooldown
	budget    budget
	clients   clientBudgets
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

// newLocalState returns the state, restored from file (which may be nil),
// skipping cooldowns that ended before now.
func newLocalState(file *store, now time.Time) *localState {
	l := &localState{file: file, cooldowns: make(map[string]Cooldown)}
	if file == nil {
		return l
	}
	file.eachState(func(name string, data []byte) {
		if name == stateBudget {
			_ = json.Unmarshal(data, &l.budget)
			return
		}
		if name == stateClients {
			_ = json.Unmarshal(data, &l.clients)
			return
		}
		var c Cooldown
		if !strings.HasPrefix(name, stateCooldownPrefix) || json.Unmarshal(data, &c) != nil || !now.Before(c.Until) {
			return
		}
		l.cooldowns[strings.TrimPrefix(name, stateCooldownPrefix)] = c
	})
	return l
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
	if limit > 0 && l.budget.Used >= limit {
		return l.budget.Used, false, nil
	}
	l.budget.Used++
	l.saveLocked()
	return l.budget.Used, true, nil
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
	}
}

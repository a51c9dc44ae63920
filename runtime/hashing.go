package runtime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"net/http"
	rt "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Defaults of HashingConfig.
const (
	DefaultHashingMemory  = 40 << 20 // two argon2id verifications at HashPassword's cost
	DefaultHashingMaxWait = 2 * time.Second
)

// hashBudget is a FIFO weighted semaphore over the memory verifications
// in flight use: waiting costs a goroutine, never a hash's memory.
type hashBudget struct {
	capacity, floor int64
	maxWait         time.Duration

	mu      sync.Mutex
	used    int64
	waiters []*hashWaiter
}

type hashWaiter struct {
	n     int64
	ready chan struct{}
}

func newHashBudget(c HashingConfig) *hashBudget {
	capacity := c.MemoryBytes
	if capacity <= 0 {
		capacity = DefaultHashingMemory
		if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
			capacity = limit / 8
		}
	}
	capacity = max(capacity, argonMemoryKiB<<10)
	wait := c.MaxWait
	if wait <= 0 {
		wait = DefaultHashingMaxWait
	}
	return &hashBudget{capacity: capacity, floor: capacity / int64(4*rt.GOMAXPROCS(0)), maxWait: wait}
}

// acquire takes n bytes of the budget, waiting at most maxWait; false if
// it could not.
func (b *hashBudget) acquire(ctx context.Context, n int64) bool {
	n = min(max(n, b.floor), b.capacity)
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.capacity {
		b.used += n
		b.mu.Unlock()
		return true
	}
	w := &hashWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()

	timer := time.NewTimer(b.maxWait)
	defer timer.Stop()
	select {
	case <-w.ready:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: give it back
		b.used -= n
		b.grant()
		return false
	default:
	}
	for i, x := range b.waiters {
		if x == w {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			break
		}
	}
	b.grant()
	return false
}

func (b *hashBudget) release(n int64) {
	n = min(max(n, b.floor), b.capacity)
	b.mu.Lock()
	b.used -= n
	b.grant()
	b.mu.Unlock()
}

// grant wakes waiters in order while they fit. Called with mu held.
func (b *hashBudget) grant() {
	for len(b.waiters) > 0 && b.used+b.waiters[0].n <= b.capacity {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.used += w.n
		close(w.ready)
	}
}

// busy is the error of a verification the budget could not take.
func busy() *Error {
	return &Error{Code: TemporarilyUnavailable, Status: http.StatusServiceUnavailable,
		Description: "too many sign-ins in progress; retry shortly", RetryAfter: time.Second, cause: ErrBusy}
}

// Kinds of stored hashes.
const (
	kindSHA256 = iota
	kindBcrypt
	kindArgon2id
	numKinds
)

// hashKind returns a stored hash's kind, its parameters (the part of the
// hash that decides its cost) and the memory one verification uses.
func hashKind(hash string) (kind int, params string, memory int64) {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return -1, "", 0
		}
		return kindBcrypt, strconv.Itoa(cost), 4 << 10
	case strings.HasPrefix(hash, "$argon2id$"):
		parts := strings.Split(hash, "$")
		if len(parts) != 6 {
			return -1, "", 0
		}
		var m int64
		for _, kv := range strings.Split(parts[3], ",") {
			if v, ok := strings.CutPrefix(kv, "m="); ok {
				m, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if m <= 0 || m > maxArgonMemoryKiB {
			return -1, "", 0
		}
		return kindArgon2id, parts[3] + "$" + strconv.Itoa(len(parts[5])), m << 10
	case hash != "" && !strings.HasPrefix(hash, "$"):
		return kindSHA256, "", 0
	}
	return -1, "", 0
}

// verify checks secret against a stored hash under the hashing budget
// (SHA-256 needs none), recording the hash's kind in pop so unknown
// identifiers can be made to cost the same.
func (s *Server) verify(ctx context.Context, pop *population, hash, secret string) (bool, *Error) {
	kind, params, memory := hashKind(hash)
	if kind < 0 || kind == kindSHA256 && pop != nil && pop.defKind != kindSHA256 {
		return false, nil // users' passwords are never bare SHA-256
	}
	pop.observe(kind, params)
	if kind == kindSHA256 {
		return VerifyClientSecret(hash, secret), nil
	}
	if !s.hashing.acquire(ctx, memory) {
		return false, busy()
	}
	defer s.hashing.release(memory)
	return VerifyPassword(hash, secret), nil
}

// verifyUnknown spends, for an identifier that does not exist, the time
// and memory a known one of the same population would: it verifies a
// dummy of the kind (and cost) the identifier is deterministically
// assigned, in proportion to the kinds seen among known identifiers.
func (s *Server) verifyUnknown(ctx context.Context, pop *population, id, secret string) *Error {
	_, e := s.verify(ctx, nil, pop.dummyFor(id), secret)
	return e
}

// population is the hash kinds seen among one kind of identifier
// (clients or users), and a dummy hash per kind and cost.
type population struct {
	key     [32]byte
	defKind int
	budget  *hashBudget
	counts  [numKinds]atomic.Int64
	params  [numKinds]atomic.Value // string: the last seen parameters of each kind
	mu      sync.Mutex
	dummies map[string]*dummyHash // by kind/params
}

// dummyHash is made once, however many requests want it at once.
type dummyHash struct {
	once sync.Once
	hash string
}

func newPopulation(defKind int, budget *hashBudget) *population {
	p := &population{defKind: defKind, budget: budget, dummies: map[string]*dummyHash{}}
	rand.Read(p.key[:])
	return p
}

func (p *population) observe(kind int, params string) {
	if p == nil {
		return
	}
	p.counts[kind].Add(1)
	if old, _ := p.params[kind].Load().(string); old != params {
		p.params[kind].Store(params)
		// Made in the background: the first unknown identifier must not
		// pay for it.
		go p.dummy(kind, params)
	}
}

// dummy returns (making it once, under the hashing budget) a dummy hash
// of a kind with parameters.
func (p *population) dummy(kind int, params string) string {
	k := strconv.Itoa(kind) + "/" + params
	p.mu.Lock()
	d, ok := p.dummies[k]
	if !ok {
		d = &dummyHash{}
		p.dummies[k] = d
	}
	p.mu.Unlock()
	d.once.Do(func() { d.hash = p.makeDummy(kind, params) })
	return d.hash
}

func (p *population) makeDummy(kind int, params string) string {
	secret := NewToken()
	switch kind {
	case kindBcrypt:
		cost, _ := strconv.Atoi(params)
		b, err := bcrypt.GenerateFromPassword([]byte(secret), min(max(cost, bcrypt.MinCost), maxBcryptCost))
		if err == nil {
			return string(b)
		}
	case kindArgon2id:
		if params == defaultParams(kindArgon2id) {
			return dummyPasswordHash()
		}
		mtp, _, _ := strings.Cut(params, "$")
		_, _, memory := hashKind("$argon2id$v=19$" + mtp + "$salt$key")
		for !p.budget.acquire(context.Background(), memory) {
		}
		defer p.budget.release(memory)
		return dummyArgon2id(secret, params)
	}
	return HashToken(secret)
}

// dummyFor picks the dummy an unknown identifier is verified against.
func (p *population) dummyFor(id string) string {
	var total int64
	var counts [numKinds]int64
	for i := range counts {
		counts[i] = p.counts[i].Load()
		total += counts[i]
	}
	kind := p.defKind
	if total > 0 {
		h := sha256.Sum256(append(p.key[:], id...))
		pick := int64(binary.BigEndian.Uint64(h[:8]) % uint64(total))
		for i, c := range counts {
			if pick < c {
				kind = i
				break
			}
			pick -= c
		}
	}
	params, _ := p.params[kind].Load().(string)
	if params == "" {
		params = defaultParams(kind)
	}
	return p.dummy(kind, params)
}

func defaultParams(kind int) string {
	switch kind {
	case kindBcrypt:
		return strconv.Itoa(bcrypt.DefaultCost)
	case kindArgon2id:
		_, params, _ := hashKind(dummyPasswordHash())
		return params
	}
	return ""
}

// dummyArgon2id returns an argon2id hash of secret with the parameters
// ("m=…,t=…,p=…$<key length in base64>") of a stored one.
func dummyArgon2id(secret, params string) string {
	mtp, keyB64, _ := strings.Cut(params, "$")
	var m, t, par uint64 = argonMemoryKiB, argonTime, argonThreads
	for _, kv := range strings.Split(mtp, ",") {
		name, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			continue
		}
		switch name {
		case "m":
			m = min(n, maxArgonMemoryKiB)
		case "t":
			t = min(n, maxArgonTime)
		case "p":
			par = min(n, 255)
		}
	}
	keyLen := argonKeyLen
	if n, err := strconv.Atoi(keyB64); err == nil && n > 0 {
		keyLen = min(n*6/8, maxArgonKeyLen)
	}
	return hashArgon2id(secret, uint32(m), uint32(t), uint8(par), uint32(keyLen))
}

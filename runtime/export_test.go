package runtime

// HashMemoryForTest exposes the memory a verification is weighed at.
func HashMemoryForTest(hash string) int64 {
	_, _, m := hashKind(hash)
	return m
}

// CachedForTest returns how many clients and failure counts s keeps in
// memory between requests (ChangeCounter stores).
func CachedForTest(s *Server) (clients, failures int) {
	c := s.changes
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.clients), len(c.failures)
}

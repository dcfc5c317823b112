package delivery

// ParseToken exposes parseToken to the fuzz target.
func (s *Service) ParseToken(token string) (string, bool) { return s.parseToken(token) }

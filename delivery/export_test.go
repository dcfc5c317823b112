package delivery

// Exported for tests of package delivery_test.
var Attachment = attachment

// ParseToken exposes parseToken to the fuzz target.
func (s *Service) ParseToken(token string) (string, bool) { return s.parseToken(token) }

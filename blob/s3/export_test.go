package s3

// SetCopyLimits makes server-side copies of more than maxCopySize bytes go in
// parts of partSize, so that tests reach UploadPartCopy without 5 GiB files.
func (s *Store) SetCopyLimits(maxCopySize, partSize int64) {
	s.maxCopySize, s.copyPartSize = maxCopySize, partSize
}

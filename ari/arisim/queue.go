package arisim

// SetQueueFree sets how many operators of an Asterisk queue are free, as
// the dialplan function QUEUE_MEMBER(<queue>,free) reports it to a
// GET /channels/{id}/variable. Tests and the demo use it to play a centre
// whose operators are free or all busy.
func (s *Server) SetQueueFree(queue string, free int) {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if s.queueFree == nil {
		s.queueFree = map[string]int{}
	}
	s.queueFree[queue] = max(free, 0)
}

// QueueFree is what QUEUE_MEMBER(<queue>,free) answers now: 0 for a queue
// the sim was never told about.
func (s *Server) QueueFree(queue string) int {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	return s.queueFree[queue]
}

package reports

// Incident announcements: how many callers heard each, pressed its key or
// still went to the operators' queue.

// IncidentStats are one incident announcement's figures.
type IncidentStats struct {
	ID string `json:"id"`
	// Heard counts calls that heard the announcement.
	Heard int64 `json:"heard"`
	// Acknowledged counts callers who pressed its key: calls about the
	// incident that ended without taking an operator.
	Acknowledged int64 `json:"acknowledged"`
	// PutThrough counts callers who heard it and still went to operators.
	PutThrough int64 `json:"put_through"`
}

// maxIncidents bounds the incident announcements whose figures are kept.
const maxIncidents = 50

// incident returns the figures of an incident, making room for a new one.
// Called with mu held.
func (a *Aggregator) incident(id string) *IncidentStats {
	if st, ok := a.incidents[id]; ok {
		return st
	}
	if a.incidents == nil {
		a.incidents = map[string]*IncidentStats{}
	}
	if len(a.incidentOrder) >= maxIncidents {
		delete(a.incidents, a.incidentOrder[0])
		a.incidentOrder = a.incidentOrder[1:]
	}
	st := &IncidentStats{ID: id}
	a.incidents[id] = st
	a.incidentOrder = append(a.incidentOrder, id)
	return st
}

// Incident returns the figures of one incident announcement.
func (a *Aggregator) Incident(id string) (IncidentStats, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, ok := a.incidents[id]
	if !ok {
		return IncidentStats{ID: id}, false
	}
	return *st, true
}

// Incidents returns the figures of the incident announcements still held,
// oldest first.
func (a *Aggregator) Incidents() []IncidentStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]IncidentStats, 0, len(a.incidentOrder))
	for _, id := range a.incidentOrder {
		out = append(out, *a.incidents[id])
	}
	return out
}

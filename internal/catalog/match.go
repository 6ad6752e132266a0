package catalog

import "time"

// Held is one licence an entity holds, as the licence library knows it (the integrator feeds it
// from the library: the business licence and every permit of the entity).
type Held struct {
	TypeCode   string `json:"type_code"`
	Identifier string `json:"identifier"` // 电子证照标识
	// Status is the licence's status: "valid" (also accepted: "active", the business licence's
	// word) or anything else — suspended, cancelled, revoked, expired, superseded — which is
	// not valid.
	Status     string    `json:"status"`
	ValidUntil time.Time `json:"valid_until,omitzero"` // end of validity (exclusive); zero: no end
	// Public is true when the licence's file may be fetched into a case without asking the
	// entity: a standing authorisation (用证授权) that covers the case, or a type whose file the
	// sharing service hands out freely. Otherwise fetching the file needs the entity's consent;
	// a data check never does.
	Public bool `json:"public"`
}

// ValidAt reports whether the licence is valid at t.
func (h *Held) ValidAt(t time.Time) bool {
	return (h.Status == "valid" || h.Status == "active") && (h.ValidUntil.IsZero() || t.Before(h.ValidUntil))
}

// State is how a material stands for an entity.
type State string

// The states of a material.
const (
	// Fetched: the entity holds a valid licence of the type; its sealed file is fetched into
	// the case.
	Fetched State = "fetched"
	// Checked: the entity holds a valid licence of the type; a data check confirms it, no file.
	Checked State = "checked"
	// ConsentNeeded: the entity holds a valid licence of the type, but fetching its file needs
	// the entity's authorisation (given on the spot when applying).
	ConsentNeeded State = "consent_needed"
	// Missing: the entity holds no valid licence of the type (Reason says why): the applicant
	// uploads it, or the item cannot be applied for.
	Missing State = "missing"
	// ToUpload: an ordinary document the applicant uploads.
	ToUpload State = "upload"
)

// Reasons a licence material is Missing.
const (
	NotHeld  = "not_held" // no licence of the type in the library: upload a copy
	NotValid = "invalid"  // held, but suspended, cancelled, revoked or superseded
	Expired  = "expired"  // held, but its validity ended
)

// Satisfaction is how one material of an item is satisfied for an entity.
type Satisfaction struct {
	Material    string `json:"material"` // the material's code
	Name        string `json:"name"`
	NameEN      string `json:"name_en,omitempty"`
	LicenceType string `json:"licence_type,omitempty"`
	Rule        Rule   `json:"rule"`
	Required    bool   `json:"required"`
	State       State  `json:"state"`
	// Identifier is the licence that satisfies the material (Fetched, Checked, ConsentNeeded),
	// or the one found not valid (Missing with NotValid or Expired).
	Identifier string `json:"identifier,omitempty"`
	Reason     string `json:"reason,omitempty"` // Missing: NotHeld, NotValid or Expired
	// Consented is set on an application when the entity authorised fetching the file.
	Consented bool `json:"consented,omitempty"`
	// Upload is the SM3 hash (hex) of the file uploaded for the material, on an application.
	Upload string `json:"upload_sm3,omitempty"`
}

// FromLibrary reports whether the material is satisfied by the library: the entity was not
// asked for it.
func (s *Satisfaction) FromLibrary() bool { return s.State == Fetched || s.State == Checked }

// Match tells, for each material of item in order, whether the licences the entity holds
// satisfy it at time at, and how. Of several licences of a type it uses a valid one — the one
// valid longest — and reports an invalid one only when no licence of the type is valid. It is a
// pure function: the same arguments give the same answer.
func Match(item *Item, held []Held, at time.Time) []Satisfaction {
	out := make([]Satisfaction, len(item.Materials))
	for i := range item.Materials {
		m := &item.Materials[i]
		s := &out[i]
		s.Material, s.Name, s.NameEN, s.LicenceType, s.Rule, s.Required = m.Code, m.Name, m.NameEN, m.LicenceType, m.Rule, m.Required
		if m.LicenceType == "" {
			s.State = ToUpload
			continue
		}
		var best, seen *Held
		for k := range held {
			h := &held[k]
			if h.TypeCode != m.LicenceType {
				continue
			}
			if !h.ValidAt(at) {
				if seen == nil {
					seen = h
				}
				continue
			}
			if best == nil || longer(h, best) {
				best = h
			}
		}
		switch {
		case best != nil:
			s.Identifier = best.Identifier
			switch {
			case m.Rule == Check:
				s.State = Checked
			case best.Public:
				s.State = Fetched
			default:
				s.State = ConsentNeeded
			}
		case seen != nil:
			s.State, s.Identifier, s.Reason = Missing, seen.Identifier, NotValid
			if seen.Status == "valid" || seen.Status == "active" {
				s.Reason = Expired
			}
		default:
			s.State, s.Reason = Missing, NotHeld
		}
	}
	return out
}

// longer reports whether a stays valid longer than b (no end beats any end); ties keep b.
func longer(a, b *Held) bool {
	switch {
	case b.ValidUntil.IsZero():
		return false
	case a.ValidUntil.IsZero():
		return true
	}
	return a.ValidUntil.After(b.ValidUntil)
}

// NotAsked counts the materials satisfied from the library — fetched or checked — that the entity
// was therefore not asked to hand in: the once-only counter (materials not asked for).
func NotAsked(sats []Satisfaction) int {
	n := 0
	for i := range sats {
		if sats[i].FromLibrary() {
			n++
		}
	}
	return n
}

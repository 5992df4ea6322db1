package allocation

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Output is what SolveJSON writes: the result, the explanations asked for
// and the audit report. It is also how the output reads back.
type Output struct {
	Result
	// InputSHA256 identifies the exact instance file that was solved.
	InputSHA256  string        `json:"input_sha256"`
	Explanations []Explanation `json:"explanations"`
	Audit        Report        `json:"audit"`
}

// ExplainMode selects the children SolveJSON explains.
type ExplainMode string

// Explain modes.
const (
	// ExplainNone writes an empty explanations list: the fastest, for
	// checking the engine; parents' texts come from Explain or the rounds.
	ExplainNone ExplainMode = "none"
	// ExplainAll explains every child.
	ExplainAll ExplainMode = "all"
	// ExplainIDs explains the children listed in SolveOptions.IDs.
	ExplainIDs ExplainMode = "ids"
)

// SolveOptions are the choices of SolveJSON.
type SolveOptions struct {
	Explain ExplainMode
	// IDs are the children to explain under ExplainIDs, in output order.
	IDs []string
	// Audit selects optional audit checks.
	Audit AuditOptions
}

// DecodeInstance reads a JSON instance token by token (a million-child
// file is never held in memory as text). Unknown fields are rejected so
// that a misspelt option does not silently fall back to a default.
// Children are decoded by hand: programme and criterion names are
// interned, so ten million preferences share fifty thousand strings.
func DecodeInstance(r io.Reader) (*Instance, error) {
	inst, err := decodeInstance(r)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return nil, err
		}
		return nil, fmt.Errorf("allocation: decode instance: %w", err)
	}
	if inst.Version != FormatVersion {
		return nil, &ValidationError{Errors: []FieldError{{Field: "version", Message: fmt.Sprintf("must be %d, got %d", FormatVersion, inst.Version)}}}
	}
	return inst, nil
}

// instanceFields are the top-level members other than children; they are
// small and decoded with encoding/json into Instance, with its rules.
var instanceFields = map[string]bool{
	"version": true, "seed": true, "round": true, "tie_break": true, "sibling_criterion": true,
	"max_sibling_passes": true, "default_policy": true, "locations": true, "reserve": true,
	"labels": true,
}

func decodeInstance(r io.Reader) (*Instance, error) {
	dec := jsontext.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	inst := &Instance{}
	// The header fields are gathered into one small object and decoded
	// at the end, so that encoding/json applies its usual rules to them.
	head := []byte{'{'}
	seen := map[string]bool{}
	d := childDecoder{dec: dec, intern: make(map[string]interned)}
	for dec.PeekKind() != '}' {
		name, err := d.name()
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate field %q", name)
		}
		seen[name] = true
		switch {
		case name == "children":
			if inst.Children, err = d.children(); err != nil {
				return nil, err
			}
			if d.indexed {
				inst.decoded = &decodedIndex{prefs: d.prefIdx}
			}
		case name == "programmes" || strings.EqualFold(name, "programmes"):
			// Decoded at once so that preferences share the programme
			// IDs' memory: map lookups by ID then compare pointers only.
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			pd := json.NewDecoder(bytes.NewReader(v))
			pd.DisallowUnknownFields()
			if err := pd.Decode(&inst.Programmes); err != nil {
				return nil, fmt.Errorf("programmes: %w", err)
			}
			for i, p := range inst.Programmes {
				d.intern[p.ID] = interned{p.ID, int32(i)}
			}
			d.indexed = true
		case instanceFields[name] || instanceField(name) != "":
			v, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			if len(head) > 1 {
				head = append(head, ',')
			}
			head = strconv.AppendQuote(head, name)
			head = append(head, ':')
			head = append(head, v...)
		default:
			return nil, fmt.Errorf("json: unknown field %q", name)
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the instance")
	}
	head = append(head, '}')
	children, programmes := inst.Children, inst.Programmes
	hd := json.NewDecoder(bytes.NewReader(head))
	hd.DisallowUnknownFields()
	if err := hd.Decode(inst); err != nil {
		return nil, err
	}
	inst.Children, inst.Programmes = children, programmes
	return inst, nil
}

// instanceField matches a member name case-insensitively, as
// encoding/json does, and returns the field's name or "".
func instanceField(name string) string {
	for f := range instanceFields {
		if strings.EqualFold(name, f) {
			return f
		}
	}
	return ""
}

func expectDelim(dec *jsontext.Decoder, delim jsontext.Kind) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != delim {
		return fmt.Errorf("expected %c, got %s", delim, tok.Kind())
	}
	return nil
}

// fieldError is a decoding error at a field path such as
// children[3].preferences[1]; the path is put together only on failure.
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return e.path + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// at prefixes the path of err with seg.
func at(seg string, err error) error {
	if fe, ok := err.(*fieldError); ok {
		return &fieldError{seg + fe.path, fe.err}
	}
	return &fieldError{seg, err}
}

// childDecoder reads the children array. Preference lists and criteria
// are cut from shared blocks, so a million children do not mean ten
// million small allocations.
type childDecoder struct {
	dec      *jsontext.Decoder
	intern   map[string]interned
	block    []string
	scratch  []string
	unquoted []byte
	// indexed: the programmes came first, so interned names know their
	// programme index, recorded per preference in prefIdx.
	indexed    bool
	lastProg   int32 // programme index of the last interned string
	prefIdx    [][]int32
	idxBlock   []int32
	idxScratch []int32
}

// interned is a shared name and, for a programme ID, its index (else -1).
type interned struct {
	s    string
	prog int32
}

// name reads an object member name.
func (d *childDecoder) name() (string, error) {
	tok, err := d.dec.ReadToken()
	if err != nil {
		return "", err
	}
	return tok.String(), nil
}

// str reads a string value; interned strings are shared.
func (d *childDecoder) str(intern bool) (string, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return "", err
	}
	if v.Kind() != '"' {
		return "", fmt.Errorf("must be a string, got %s", v.Kind())
	}
	raw := []byte(v[1 : len(v)-1])
	if bytes.IndexByte(raw, '\\') >= 0 {
		if d.unquoted, err = jsontext.AppendUnquote(d.unquoted[:0], v); err != nil {
			return "", err
		}
		raw = d.unquoted
	}
	if !intern {
		return string(raw), nil
	}
	if e, ok := d.intern[string(raw)]; ok {
		d.lastProg = e.prog
		return e.s, nil
	}
	s := string(raw)
	d.intern[s] = interned{s, -1}
	d.lastProg = -1
	return s, nil
}

// null consumes a null value and reports whether there was one; like
// encoding/json, null leaves a field at its zero value.
func (d *childDecoder) null() (bool, error) {
	if d.dec.PeekKind() != 'n' {
		return false, nil
	}
	_, err := d.dec.ReadToken()
	return true, err
}

// strings reads an array of strings into a slice of a shared block; with
// indexes, the programme index of each is kept in d.idxScratch.
func (d *childDecoder) strings(intern, indexes bool) ([]string, error) {
	if err := expectDelim(d.dec, '['); err != nil {
		return nil, err
	}
	d.scratch, d.idxScratch = d.scratch[:0], d.idxScratch[:0]
	for k := 0; d.dec.PeekKind() != ']'; k++ {
		s, err := d.str(intern)
		if err != nil {
			return nil, at("["+strconv.Itoa(k)+"]", err)
		}
		d.scratch = append(d.scratch, s)
		if indexes {
			d.idxScratch = append(d.idxScratch, d.lastProg)
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, err
	}
	n := len(d.scratch)
	if n == 0 {
		return []string{}, nil
	}
	if n > len(d.block) {
		d.block = make([]string, max(n, 1<<16))
	}
	out := d.block[:n:n]
	d.block = d.block[n:]
	copy(out, d.scratch)
	return out, nil
}

// cutIndexes copies d.idxScratch into a slice of a shared block.
func (d *childDecoder) cutIndexes() []int32 {
	n := len(d.idxScratch)
	if n > len(d.idxBlock) {
		d.idxBlock = make([]int32, max(n, 1<<16))
	}
	out := d.idxBlock[:n:n]
	d.idxBlock = d.idxBlock[n:]
	copy(out, d.idxScratch)
	return out
}

func (d *childDecoder) children() ([]Child, error) {
	if null, err := d.null(); null || err != nil {
		return nil, err
	}
	if err := expectDelim(d.dec, '['); err != nil {
		return nil, at("children", err)
	}
	var out []Child
	for i := 0; d.dec.PeekKind() != ']'; i++ {
		out = append(out, Child{})
		if d.indexed {
			d.prefIdx = append(d.prefIdx, nil)
		}
		if err := d.child(&out[i]); err != nil {
			return nil, at("children["+strconv.Itoa(i)+"]", err)
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, err
	}
	return out, nil
}

// childFields are the members of a child, for encoding/json's
// case-insensitive fallback.
var childFields = []string{"id", "preferences", "criteria", "location_criteria", "vulnerable", "siblings"}

// childField reads the name of a child's member; the usual exact names
// are matched on the raw bytes, without allocating.
func (d *childDecoder) childField() (string, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return "", err
	}
	switch string(v) {
	case `"id"`:
		return "id", nil
	case `"preferences"`:
		return "preferences", nil
	case `"criteria"`:
		return "criteria", nil
	case `"vulnerable"`:
		return "vulnerable", nil
	case `"siblings"`:
		return "siblings", nil
	case `"location_criteria"`:
		return "location_criteria", nil
	}
	b, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return "", err
	}
	for _, f := range childFields {
		if strings.EqualFold(string(b), f) {
			return f, nil
		}
	}
	return "", fmt.Errorf("json: unknown field %q", b)
}

// child decodes one child. Field paths are built only for errors.
func (d *childDecoder) child(ch *Child) error {
	if err := expectDelim(d.dec, '{'); err != nil {
		return err
	}
	for d.dec.PeekKind() != '}' {
		name, err := d.childField()
		if err != nil {
			return err
		}
		if null, err := d.null(); err != nil {
			return err
		} else if null {
			continue
		}
		switch name {
		case "id":
			ch.ID, err = d.str(false)
		case "preferences":
			if ch.Preferences, err = d.strings(true, d.indexed); err == nil && d.indexed {
				d.prefIdx[len(d.prefIdx)-1] = d.cutIndexes()
			}
		case "criteria":
			ch.Criteria, err = d.strings(true, false)
		case "siblings":
			ch.Siblings, err = d.strings(false, false)
		case "vulnerable":
			var tok jsontext.Token
			if tok, err = d.dec.ReadToken(); err == nil {
				if k := tok.Kind(); k != 't' && k != 'f' {
					err = fmt.Errorf("must be true or false, got %s", k)
				}
				if err == nil {
					ch.Vulnerable = tok.Bool()
				}
			}
		case "location_criteria":
			var v jsontext.Value
			if v, err = d.dec.ReadValue(); err == nil {
				err = json.Unmarshal(v, &ch.LocationCriteria)
			}
		}
		if err != nil {
			return at("."+name, err)
		}
	}
	_, err := d.dec.ReadToken()
	return err
}

// hashingReader hashes everything read through it.
type hashingReader struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// SolveJSON reads an instance, solves and audits it, and writes the
// Output as compact JSON, streamed. An invalid instance is an error; a
// failed audit is not: it is reported in the output and in the returned
// report (audit.ok false), so the caller need not read the output back.
func SolveJSON(r io.Reader, w io.Writer, opt SolveOptions) (Report, error) {
	hr := &hashingReader{r: r, h: sha256.New()}
	inst, err := DecodeInstance(hr)
	if err != nil {
		return Report{}, err
	}
	// Hash whatever the decoder left unread (trailing whitespace).
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return Report{}, fmt.Errorf("allocation: read instance: %w", err)
	}
	var which []int
	switch opt.Explain {
	case "", ExplainNone:
		which = []int{}
	case ExplainAll:
	case ExplainIDs:
		idx := childIndexes(inst, opt.IDs)
		for _, id := range opt.IDs {
			i, ok := idx[id]
			if !ok {
				return Report{}, &ValidationError{Errors: []FieldError{{Field: "explain", Message: fmt.Sprintf("unknown child %q", id)}}}
			}
			which = append(which, i)
		}
		if which == nil {
			which = []int{}
		}
	default:
		return Report{}, fmt.Errorf("allocation: unknown explain mode %q (want none, all or ids)", opt.Explain)
	}
	c, err := compile(inst)
	if err != nil {
		return Report{}, fmt.Errorf("allocation: solve: %w", err)
	}
	// The instance is valid now. The engine's passes use one core: the
	// audit's model of the instance is built on the other meanwhile, and
	// the audit runs while the result is written.
	models := make(chan *refModel, 1)
	go func() { models <- newInstanceModel(inst) }()
	res := c.solve()
	c = nil // the engine's tables are no longer needed
	m := <-models
	m.setResult(res)
	reports := make(chan Report, 1)
	go func() { reports <- auditModel(m, opt.Audit) }()
	out := outputWriter{w: bufio.NewWriterSize(w, 1<<20)}
	out.writeResult(res, hex.EncodeToString(hr.h.Sum(nil)))
	expl, err := m.explain(which)
	report := <-reports
	if err != nil {
		return report, fmt.Errorf("allocation: %w", err)
	}
	out.writeTail(expl, &report)
	if out.err == nil {
		out.err = out.w.Flush()
	}
	if out.err != nil {
		return report, fmt.Errorf("allocation: write result: %w", out.err)
	}
	return report, nil
}

// outputWriter writes an Output in the byte layout of encoding/json's
// compact form (same field order, same escaping), the many assignments
// by hand and the rest with encoding/json, straight to a buffered writer.
type outputWriter struct {
	w   *bufio.Writer
	buf []byte
	err error
}

func (o *outputWriter) raw(s string) {
	if o.err == nil {
		_, o.err = o.w.WriteString(s)
	}
}

func (o *outputWriter) bytes(b []byte) {
	if o.err == nil {
		_, o.err = o.w.Write(b)
	}
}

func (o *outputWriter) value(v any) {
	b, err := json.Marshal(v)
	if err != nil && o.err == nil {
		o.err = err
	}
	o.bytes(b)
}

// list writes a JSON array of n items (null for a nil slice).
func (o *outputWriter) list(null bool, n int, item func(k int)) {
	if null {
		o.raw("null")
		return
	}
	o.raw("[")
	for k := range n {
		if k > 0 {
			o.raw(",")
		}
		item(k)
	}
	o.raw("]")
}

// writeResult writes the output up to input_sha256; writeTail the rest.
func (o *outputWriter) writeResult(res *Result, sum string) {
	o.raw(`{"version":`)
	o.raw(strconv.Itoa(res.Version))
	o.raw(`,"seed":`)
	o.value(res.Seed)
	o.raw(`,"round":`)
	o.raw(strconv.Itoa(res.Round))
	o.raw(`,"tie_break":`)
	o.value(res.TieBreak)
	o.raw(`,"reserve":`)
	o.value(res.Reserve)
	o.raw(`,"siblings":`)
	o.value(res.Siblings)
	o.raw(`,"assignments":`)
	o.list(res.Assignments == nil, len(res.Assignments), func(k int) {
		o.buf = appendAssignment(o.buf[:0], &res.Assignments[k])
		o.bytes(o.buf)
	})
	o.raw(`,"fill":`)
	o.list(res.Fill == nil, len(res.Fill), func(k int) { o.value(&res.Fill[k]) })
	o.raw(`,"input_sha256":`)
	o.value(sum)
}

func (o *outputWriter) writeTail(expl []Explanation, report *Report) {
	o.raw(`,"explanations":`)
	o.list(false, len(expl), func(k int) { o.value(&expl[k]) })
	o.raw(`,"audit":`)
	o.value(report)
	o.raw("}\n")
}

// appendAssignment encodes an Assignment exactly as encoding/json does.
func appendAssignment(b []byte, a *Assignment) []byte {
	b = append(b, `{"child_id":`...)
	b = appendJSONString(b, a.ChildID)
	if a.ProgrammeID != "" {
		b = append(b, `,"programme_id":`...)
		b = appendJSONString(b, a.ProgrammeID)
	}
	b = append(b, `,"lottery":`...)
	b = strconv.AppendUint(b, uint64(a.Lottery), 10)
	b = append(b, `,"choice":`...)
	b = strconv.AppendUint(b, uint64(a.Choice), 10)
	if a.Seat != SeatNone {
		b = append(b, `,"seat":"`...)
		b = append(b, a.Seat.String()...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendJSONString quotes s as encoding/json does: plain ASCII directly,
// anything that needs escaping through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

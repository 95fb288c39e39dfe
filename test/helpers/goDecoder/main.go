// A stand-in for Ollama's request decoding: the same request struct shapes (the fields the gateway decides on, with
// Ollama's Go types and JSON tags), decoded the way Ollama decodes them (gin's ShouldBindJSON is a json.Decoder's
// first value), answering what it decoded. Property tests send generated bodies through the gateway to it and compare
// what Go saw with what the gateway checked, recorded and reserved.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

type generateRequest struct {
	Model   string         `json:"model"`
	Prompt  string         `json:"prompt"`
	Stream  *bool          `json:"stream,omitempty"`
	Options map[string]any `json:"options"`
}

type namedRequest struct {
	Model string `json:"model"`
	Name  string `json:"name"`
}

type createRequest struct {
	Model     string `json:"model"`
	Name      string `json:"name"`
	From      string `json:"from,omitempty"`
	Modelfile string `json:"modelfile"`
	Path      string `json:"path"`
	Stream    *bool  `json:"stream,omitempty"`
}

type copyRequest struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatCompletionRequest struct {
	Model         string         `json:"model"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options"`
	MaxTokens     *int           `json:"max_tokens"`
}

type responsesRequest struct {
	Model           string `json:"model"`
	Stream          *bool  `json:"stream,omitempty"`
	MaxOutputTokens *int   `json:"max_output_tokens,omitempty"`
}

type messagesRequest struct {
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	Stream    bool   `json:"stream,omitempty"`
}

// report is what the stand-in answers: the models Go would act on (the first is the one that runs or is acted on),
// whether it streams, the token limit Ollama would apply (num_predict after Options.FromMap), and the bytes it got.
type report struct {
	Models       []string `json:"decoded_models"`
	Stream       bool     `json:"decoded_stream"`
	NumPredict   *int64   `json:"decoded_num_predict"`
	IncludeUsage bool     `json:"decoded_include_usage"`
	Bytes        int      `json:"decoded_bytes"`
}

// numPredict converts options["num_predict"] the way Ollama's Options.FromMap does: a float64 truncated to an int.
func numPredict(options map[string]any) (*int64, error) {
	value, ok := options["num_predict"]
	if !ok || value == nil {
		return nil, nil
	}
	number, ok := value.(float64)
	if !ok {
		return nil, fmt.Errorf("option %q must be of type integer", "num_predict")
	}
	limit := int64(number)
	return &limit, nil
}

// or is Go 1.22's cmp.Or for two strings (the first that is not empty), as Ollama picks model over name.
func or(first, second string) string {
	if first != "" {
		return first
	}
	return second
}

func limitOf(value *int) *int64 {
	if value == nil {
		return nil
	}
	limit := int64(*value)
	return &limit
}

func decode(route string, body []byte) (report, error) {
	decoder := json.NewDecoder(bytes.NewReader(body))
	out := report{Bytes: len(body)}
	var err error
	switch route {
	case "/api/generate", "/api/chat", "/api/embed", "/api/embeddings":
		var r generateRequest
		if err = decoder.Decode(&r); err == nil {
			out.Models = []string{r.Model}
			out.Stream = r.Stream == nil || *r.Stream
			out.NumPredict, err = numPredict(r.Options)
		}
	case "/api/show", "/api/delete", "/api/pull", "/api/push":
		var r namedRequest
		if err = decoder.Decode(&r); err == nil {
			out.Models = []string{or(r.Model, r.Name)}
		}
	case "/api/create":
		var r createRequest
		if err = decoder.Decode(&r); err == nil {
			out.Models = []string{or(r.Model, r.Name)}
			if r.From != "" {
				out.Models = append(out.Models, r.From)
			}
			out.Stream = r.Stream == nil || *r.Stream
		}
	case "/api/copy":
		var r copyRequest
		if err = decoder.Decode(&r); err == nil {
			out.Models = []string{r.Source, r.Destination}
		}
	case "/v1/chat/completions", "/v1/completions":
		var r chatCompletionRequest
		if err = decoder.Decode(&r); err == nil {
			out.Models = []string{r.Model}
			out.Stream = r.Stream
			out.IncludeUsage = r.StreamOptions != nil && r.StreamOptions.IncludeUsage
			out.NumPredict = limitOf(r.MaxTokens)
		}
	case "/v1/responses":
		var r responsesRequest
		if err = decoder.Decode(&r); err == nil {
			out.Models = []string{r.Model}
			out.Stream = r.Stream != nil && *r.Stream
			out.NumPredict = limitOf(r.MaxOutputTokens)
		}
	case "/v1/messages":
		var r messagesRequest
		if err = decoder.Decode(&r); err == nil {
			out.Models = []string{r.Model}
			out.Stream = r.Stream
			limit := int64(r.MaxTokens)
			out.NumPredict = &limit
		}
	default:
		err = fmt.Errorf("no such route %s", route)
	}
	return out, err
}

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The parent reads the address from the first line.
	fmt.Println(listener.Addr().String())
	http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		w.Header().Set("content-type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		if strings.HasPrefix(r.URL.Path, "/typed/") {
			if err := decodeTyped(r.URL.Path, body); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
				return
			}
			w.Write([]byte("{}"))
			return
		}
		decoded, err := decode(r.URL.Path, body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		json.NewEncoder(w).Encode(decoded)
	}))
}

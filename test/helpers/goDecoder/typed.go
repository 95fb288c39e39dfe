// The typed request structs, for the validation tests: every field whose JSON type Go decides (Ollama's api/types.go
// and openai/openai.go shapes, written here from their documented field types), decoded as Ollama decodes them, plus
// the checks Ollama's handlers make right after decoding (options through Options.FromMap, format, embed's input).
// Served under /typed/<route>: 200 when Ollama would accept the body's types, 400 with Go's error when not.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// duration reads keep_alive as Ollama's api.Duration does: a number of seconds, or a string time.ParseDuration takes.
type duration struct{}

func (d *duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch t := v.(type) {
	case float64:
		return nil
	case string:
		_, err := time.ParseDuration(t)
		return err
	default:
		return fmt.Errorf("Unsupported type: '%T'", v)
	}
}

// thinkValue reads think as api.ThinkValue does: a bool or one of three effort levels.
type thinkValue struct{}

func (t *thinkValue) UnmarshalJSON(b []byte) error {
	var flag bool
	if json.Unmarshal(b, &flag) == nil {
		return nil
	}
	var level string
	if json.Unmarshal(b, &level) == nil {
		if level == "high" || level == "medium" || level == "low" {
			return nil
		}
		return fmt.Errorf("invalid think value: %q", level)
	}
	return fmt.Errorf("think must be a boolean or a string")
}

// propertyType reads a tool property's type: one name or several.
type propertyType []string

func (p *propertyType) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		return nil
	}
	var many []string
	return json.Unmarshal(b, &many)
}

type toolProperty struct {
	Type        propertyType `json:"type"`
	Description string       `json:"description"`
	Enum        []any        `json:"enum"`
}

type tool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Parameters  struct {
			Type       string                  `json:"type"`
			Required   []string                `json:"required"`
			Properties map[string]toolProperty `json:"properties"`
		} `json:"parameters"`
	} `json:"function"`
}

type nativeMessage struct {
	Role      string   `json:"role"`
	Content   string   `json:"content"`
	Thinking  string   `json:"thinking"`
	Images    [][]byte `json:"images"`
	ToolCalls []struct {
		Function struct {
			Index     int            `json:"index"`
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	ToolName string `json:"tool_name"`
}

type typedNative struct {
	Model     string          `json:"model"`
	Prompt    string          `json:"prompt"`
	Suffix    string          `json:"suffix"`
	System    string          `json:"system"`
	Template  string          `json:"template"`
	Context   []int           `json:"context"`
	Stream    *bool           `json:"stream"`
	Raw       bool            `json:"raw"`
	Format    json.RawMessage `json:"format"`
	KeepAlive *duration       `json:"keep_alive"`
	Images    [][]byte        `json:"images"`
	Options   map[string]any  `json:"options"`
	Think     *thinkValue     `json:"think"`
	Truncate  *bool           `json:"truncate"`
	Messages  []nativeMessage `json:"messages"`
	Tools     []tool          `json:"tools"`
	Input     any             `json:"input"`
}

// Options.FromMap's kinds: which Go type each known option has (an unknown option is ignored).
var optionKinds = map[string]string{
	"num_keep": "int", "seed": "int", "num_predict": "int", "top_k": "int", "repeat_last_n": "int", "mirostat": "int",
	"num_ctx": "int", "num_batch": "int", "num_gpu": "int", "main_gpu": "int", "num_thread": "int",
	"top_p": "float", "min_p": "float", "typical_p": "float", "temperature": "float", "repeat_penalty": "float",
	"presence_penalty": "float", "frequency_penalty": "float", "mirostat_tau": "float", "mirostat_eta": "float",
	"penalize_newline": "bool", "numa": "bool", "low_vram": "bool", "f16_kv": "bool", "logits_all": "bool",
	"vocab_only": "bool", "use_mmap": "bool", "use_mlock": "bool", "stop": "strings",
}

func fromMap(options map[string]any) error {
	for key, value := range options {
		kind, known := optionKinds[key]
		if !known || value == nil {
			continue
		}
		switch kind {
		case "int", "float":
			if _, ok := value.(float64); !ok {
				return fmt.Errorf("option %q must be a number", key)
			}
		case "bool":
			if _, ok := value.(bool); !ok {
				return fmt.Errorf("option %q must be of type boolean", key)
			}
		case "strings":
			items, ok := value.([]any)
			if !ok {
				return fmt.Errorf("option %q must be of type array", key)
			}
			for _, item := range items {
				if _, ok := item.(string); !ok {
					return fmt.Errorf("option %q must be of an array of strings", key)
				}
			}
		}
	}
	return nil
}

func checkFormat(format json.RawMessage) error {
	trimmed := bytes.TrimSpace(format)
	switch string(trimmed) {
	case "", "null", `""`, `"json"`:
		return nil
	}
	if trimmed[0] != '{' {
		return fmt.Errorf("invalid format: %s", trimmed)
	}
	return nil
}

func checkInput(input any) error {
	switch value := input.(type) {
	case nil, string:
		return nil
	case []any:
		for _, item := range value {
			if _, ok := item.(string); !ok {
				return fmt.Errorf("invalid input type")
			}
		}
		return nil
	default:
		return fmt.Errorf("invalid input type")
	}
}

type openAiMessage struct {
	Role      string `json:"role"`
	Content   any    `json:"content"`
	Name      string `json:"name"`
	ToolCalls []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	ToolCallID string `json:"tool_call_id"`
}

type typedChatCompletion struct {
	Model            string          `json:"model"`
	Messages         []openAiMessage `json:"messages"`
	Stream           bool            `json:"stream"`
	MaxTokens        *int            `json:"max_tokens"`
	Seed             *int            `json:"seed"`
	Temperature      *float64        `json:"temperature"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	TopP             *float64        `json:"top_p"`
	ResponseFormat   *struct {
		Type       string `json:"type"`
		JsonSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	Tools       []tool `json:"tools"`
	Logprobs    *bool  `json:"logprobs"`
	TopLogprobs int    `json:"top_logprobs"`
}

// decodeTyped answers whether Ollama would accept the body's types on the route.
func decodeTyped(route string, body []byte) error {
	decoder := json.NewDecoder(bytes.NewReader(body))
	switch route {
	case "/typed/api/generate", "/typed/api/chat", "/typed/api/embed":
		var r typedNative
		if err := decoder.Decode(&r); err != nil {
			return err
		}
		if err := fromMap(r.Options); err != nil {
			return err
		}
		if err := checkFormat(r.Format); err != nil {
			return err
		}
		return checkInput(r.Input)
	case "/typed/v1/chat/completions":
		var r typedChatCompletion
		return decoder.Decode(&r)
	}
	return fmt.Errorf("no such route %s", route)
}

'use strict'
// What a daemon's discovery reports: a realistic catalog of four models.
const catalog = [
  {
    id: 'claude-sonnet-4-5',
    label: 'Claude Sonnet 4.5',
    provider: 'anthropic',
    default: true,
    thinking: {
      supported_levels: [
        { value: 'off', label: 'Off', description: 'Answer directly' },
        { value: 'low', label: 'Low', description: 'A short think first' },
        { value: 'high', label: 'High', description: 'Think long on hard problems' }
      ],
      default_level: 'low'
    },
    service_tiers: [{ id: 'standard', name: 'Standard' }, { id: 'priority', name: 'Priority' }]
  },
  { id: 'claude-haiku-4-5', label: 'Claude Haiku 4.5', provider: 'anthropic' },
  {
    id: 'gpt-5',
    label: 'GPT-5',
    provider: 'openai',
    thinking: { supported_levels: [{ value: 'minimal', label: 'Minimal' }, { value: 'high', label: 'High' }], default_level: 'minimal' }
  },
  { id: 'qwen3-coder-30b', label: 'Qwen3 Coder 30B', provider: 'ollama' }
]

const result = { models: catalog, supported: true }

module.exports = { catalog, result }

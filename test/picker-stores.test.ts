import t from 'tap'
import { memoryBackend, mockBackend, realRedisBackend } from './helpers/backends'
import { pickerContract } from './helpers/picker-contract'

pickerContract(t, memoryBackend())
pickerContract(t, mockBackend())
pickerContract(t, realRedisBackend())

import t from 'tap'
import { memoryBackend, mockBackend, realRedisBackend } from './helpers/backends'
import { storeContract } from './helpers/contract'

storeContract(t, memoryBackend())
storeContract(t, mockBackend())
storeContract(t, realRedisBackend())

import t from 'tap'
import { memoryBackend, mockBackend, realRedis6Backend, realRedisBackend } from './helpers/backends'
import { storeContract } from './helpers/contract'

storeContract(t, memoryBackend())
storeContract(t, mockBackend())
storeContract(t, realRedisBackend())
storeContract(t, realRedis6Backend())

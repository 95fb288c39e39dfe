// The session and the caller's identity, handed to every page through one context.
import { createContext } from 'preact'
import { useContext } from 'preact/hooks'
import type { Me, Session } from './api.js'

export interface Signed {
  session: Session
  me: Me
}

export const SignedContext = createContext<Signed | undefined>(undefined)

export function useSigned(): Signed {
  const signed = useContext(SignedContext)
  if (!signed) throw new Error('a page rendered outside a login')
  return signed
}

/** Whether the caller's role grants a permission (src/auth/permissions.ts). */
export function can(me: Me, permission: string): boolean {
  return me.permissions.includes(permission)
}

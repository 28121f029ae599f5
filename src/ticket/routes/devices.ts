import type { FastifyInstance } from 'fastify';
import QRCode from 'qrcode';
import type { Services } from '../../home/services.js';
import type { DeviceView } from '../../devices/device-service.js';
import { requireSession, sessionOf } from '../session-auth.js';
import { errorBodySchema } from '../http-errors.js';

const deviceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    ip: { type: ['string', 'null'] },
    publicKey: { type: 'string' },
    clientKey: { type: 'boolean' },
    state: { type: 'string' },
    createdAt: { type: 'string' },
    expiresAt: { type: 'string' },
    revokedAt: { type: ['string', 'null'] },
    lastHandshake: { type: ['string', 'null'] },
  },
  required: ['id', 'name', 'ip', 'publicKey', 'state', 'createdAt', 'expiresAt'],
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' } } } as const;

export function deviceJson(device: DeviceView, lastHandshake?: number) {
  return {
    id: device.id,
    name: device.name,
    ip: device.ip,
    publicKey: device.public_key,
    clientKey: device.client_key,
    state: device.state,
    createdAt: new Date(device.created_at).toISOString(),
    expiresAt: new Date(device.expires_at).toISOString(),
    revokedAt: device.revoked_at === null ? null : new Date(device.revoked_at).toISOString(),
    lastHandshake: lastHandshake ? new Date(lastHandshake * 1000).toISOString() : null,
  };
}

/** The logged-in user's devices: register, list, show, revoke, config download and QR code. */
export async function deviceRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { devices, sessions, config, applier } = services;
  const withSession = requireSession(sessions, { cookieName: config.session.cookie_name, requireMfa: true });

  app.post<{ Body: { name: string; publicKey?: string } }>(
    '/api/v1/devices',
    {
      preHandler: withSession,
      bodyLimit: config.http.auth_body_limit,
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 256 }, publicKey: { type: 'string', maxLength: 64 } } },
        response: {
          201: { type: 'object', properties: { ...deviceSchema.properties, config: { type: 'string' }, configFileName: { type: 'string' }, privateKey: { type: 'string' }, refresh_token: { type: 'string' } } },
          '4xx': errorBodySchema,
          '5xx': errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const session = sessionOf(request);
      const registration = await devices.register({ id: session.userId, username: session.username }, request.body, request.ip);
      reply.code(201).header('cache-control', 'no-store');
      return {
        ...deviceJson(registration.device),
        config: registration.config,
        configFileName: registration.configFileName,
        ...(registration.privateKey ? { privateKey: registration.privateKey } : {}),
        refresh_token: registration.refreshToken,
      };
    },
  );

  app.get('/api/v1/devices', { preHandler: withSession, schema: { response: { 200: { type: 'object', properties: { devices: { type: 'array', items: deviceSchema } } }, '4xx': errorBodySchema } } }, async (request) => {
    const session = sessionOf(request);
    const list = await devices.list(session.userId);
    const state = applier.mode === 'interface' && list.length > 0 ? await applier.dump().catch(() => undefined) : undefined;
    return { devices: list.map((d) => deviceJson(d, state?.peers.get(d.public_key)?.latestHandshake)) };
  });

  app.get<{ Params: { id: string } }>('/api/v1/devices/:id', { preHandler: withSession, schema: { params: idParams, response: { 200: deviceSchema, '4xx': errorBodySchema } } }, async (request) => {
    return deviceJson(await devices.get(request.params.id, sessionOf(request).userId));
  });

  app.delete<{ Params: { id: string } }>('/api/v1/devices/:id', { preHandler: withSession, schema: { params: idParams, response: { '4xx': errorBodySchema, '5xx': errorBodySchema } } }, async (request, reply) => {
    const session = sessionOf(request);
    await devices.revoke(request.params.id, session.username, 'revoked by its user', { userId: session.userId, ip: request.ip });
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>('/api/v1/devices/:id/config', { preHandler: withSession, schema: { params: idParams, response: { '4xx': errorBodySchema } } }, async (request, reply) => {
    const session = sessionOf(request);
    const { text, fileName } = await devices.config(request.params.id, { id: session.userId, username: session.username });
    return reply.type('text/plain; charset=utf-8').header('content-disposition', `attachment; filename="${fileName}"`).header('cache-control', 'no-store').send(`${text}\n`);
  });

  app.get<{ Params: { id: string } }>('/api/v1/devices/:id/qr.svg', { preHandler: withSession, schema: { params: idParams, response: { '4xx': errorBodySchema } } }, async (request, reply) => {
    const session = sessionOf(request);
    const { text } = await devices.config(request.params.id, { id: session.userId, username: session.username });
    return reply.type('image/svg+xml').header('cache-control', 'no-store').send(await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
  });

  app.get<{ Params: { id: string } }>('/api/v1/devices/:id/qr.png', { preHandler: withSession, schema: { params: idParams, response: { '4xx': errorBodySchema } } }, async (request, reply) => {
    const session = sessionOf(request);
    const { text } = await devices.config(request.params.id, { id: session.userId, username: session.username });
    return reply.type('image/png').header('cache-control', 'no-store').send(await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, scale: 6 }));
  });
}

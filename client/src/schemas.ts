/** The API's zod schemas (`CreateOrderInputSchema`, ...), for validating forms before they are sent. */
export * from '@orders/shared';
